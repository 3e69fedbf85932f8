package testenv

import "github.com/redis/go-redis/v9"

// CountingScript returns the Lua script src with every redis.call counted
// (a local "redis" that shadows the global one) and the count appended to
// its reply, which must be a list. Tests pin how many Redis calls a hot
// path's script makes with it; INFO commandstats would not do, the test
// Redis is shared.
func CountingScript(src string) *redis.Script {
	return redis.NewScript(`
local R, n = redis, 0
local redis = setmetatable({call = function(...) n = n + 1 return R.call(...) end}, {__index = R})
local r = (function()
` + src + `
end)()
r[#r + 1] = n
return r
`)
}
