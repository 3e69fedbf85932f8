package keyauth

// Waiters is how many requests wait on the store lookup of key now (0 when
// none is running).
func Waiters(a *Authenticator, key string) int {
	h := hashKey(key)
	sh := a.cache.shard(&h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c := sh.calls[h]; c != nil {
		return c.waiters
	}
	return 0
}
