package walletredis

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
)

type zeroLoader struct{}

func (zeroLoader) LoadBalance(context.Context, resayil.AccountID) (Loaded, error) {
	return Loaded{}, nil
}

// TestHotPathCalls pins the number of Redis calls of a request's Reserve
// and Settle on a warm account, what lua.go promises.
func TestHotPathCalls(t *testing.T) {
	ctx := context.Background()
	env := testenv.Redis(t)
	w, err := New(env.Client, zeroLoader{}, Config{Prefix: env.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	const acct resayil.AccountID = 3
	if _, err := w.Credit(ctx, wallet.Grant{Reference: "admin:funds", Account: acct, Amount: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	reserve, settle := testenv.CountingScript(prelude+reserveSrc), testenv.CountingScript(prelude+settleSrc)
	run := func(s *redis.Script, keys []string, args ...any) []int64 {
		t.Helper()
		args[0], args[1] = "", w.now().UnixMilli()
		r, err := s.Run(ctx, env.Client, keys, args...).Int64Slice()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	hold := func(id string) []int64 {
		lease := wallet.DefaultLease
		return run(reserve, w.accountKeys(acct), nil, nil, id, 500, 1, lease.Milliseconds(), holdTTL(lease))
	}
	settleOne := func(id string) []int64 {
		keys, args := w.settleCall(wallet.Settlement{RequestID: id, Account: acct, Cost: 42,
			Usage: wallet.Usage{Model: "m", Backend: "local", Status: "ok", TotalTokens: 42}})
		return run(settle, keys, args...)
	}
	for _, tc := range []struct {
		name       string
		do         func() []int64
		res, calls int64
	}{
		{"reserve, no other hold (new holds keys)", func() []int64 { return hold("r1") }, 1, 6},
		{"reserve, another hold, keys fresh", func() []int64 { return hold("r2") }, 1, 5},
		{"reserve again (existing hold)", func() []int64 { return hold("r2") }, 2, 4},
		{"settle", func() []int64 { return settleOne("r1") }, 1, 8},
		{"settle again (replay)", func() []int64 { return settleOne("r1") }, 2, 2},
		{"settle the last hold", func() []int64 { return settleOne("r2") }, 1, 8},
	} {
		r := tc.do()
		if r[0] != tc.res || r[len(r)-1] != tc.calls {
			t.Errorf("%s: result %d with %d Redis calls, want %d with %d", tc.name, r[0], r[len(r)-1], tc.res, tc.calls)
		}
	}
}
