package keyauth_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/resayil"
)

// clock is a manual clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// keyTable is an in-memory KeyStore that counts lookups: a test double of
// keyauth's own narrow interface, used to count and to fail on demand. The
// real SQL store is exercised in keystore's integration tests.
type keyTable struct {
	mu    sync.Mutex
	keys  map[string]resayil.Principal
	err   error
	gate  chan struct{}
	calls atomic.Int64
}

func newKeyTable() *keyTable { return &keyTable{keys: map[string]resayil.Principal{}} }

func (s *keyTable) LookupKey(ctx context.Context, keyHash string) (resayil.Principal, error) {
	s.calls.Add(1)
	s.mu.Lock()
	gate, err := s.gate, s.err
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return resayil.Principal{}, ctx.Err()
		}
	}
	if err != nil {
		return resayil.Principal{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.keys[keyHash]
	if !ok {
		return resayil.Principal{}, resayil.Errorf(resayil.ENOTFOUND, "no such key")
	}
	return p, nil
}

func (s *keyTable) put(key string, p resayil.Principal) {
	s.mu.Lock()
	s.keys[keyauth.HashKey(key)] = p
	s.mu.Unlock()
}

func (s *keyTable) remove(key string) {
	s.mu.Lock()
	delete(s.keys, keyauth.HashKey(key))
	s.mu.Unlock()
}

func (s *keyTable) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// hold makes lookups wait until the returned function is called.
func (s *keyTable) hold() (release func()) {
	g := make(chan struct{})
	s.mu.Lock()
	s.gate = g
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(g)
	}
}

var errDown = errors.New("dial tcp 10.0.0.5:3306: connection refused")

var (
	proPlan = resayil.Plan{Code: resayil.TierPro, Name: "Pro", RateLimitPerMinute: 30, CloudAllowed: true, QueuePriority: 1, SortOrder: 2,
		Classes: []resayil.ModelClass{resayil.ClassSmall, resayil.ClassMedium, resayil.ClassLarge, resayil.ClassCloud}}
	basicPlan = keyauth.DefaultBasicPlan()
)

const (
	keyA = "sk-abAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwxyz"
	keyB = "sk-bbBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
)

func principal(id int64, acct resayil.AccountID, user resayil.UserID) resayil.Principal {
	return resayil.Principal{KeyID: resayil.APIKeyID(id), UserID: user, Account: acct, Plan: basicPlan}
}

func newAuth(t testing.TB, store keyauth.KeyStore, clk *clock, cfg keyauth.Config) *keyauth.Authenticator {
	t.Helper()
	cfg.Now = clk.Now
	a, err := keyauth.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mustAuth authenticates "Bearer key" and fails the test on error.
func mustAuth(t testing.TB, a *keyauth.Authenticator, key string) resayil.Principal {
	t.Helper()
	p, err := a.Authenticate(context.Background(), "Bearer "+key)
	if err != nil {
		t.Fatalf("Authenticate(%s): %v", key[:6], err)
	}
	return p
}

// refusedWith checks that authenticating key fails with code.
func refusedWith(t testing.TB, a *keyauth.Authenticator, key string, code resayil.Code) {
	t.Helper()
	p, err := a.Authenticate(context.Background(), "Bearer "+key)
	if got := resayil.ErrorCode(err); got != code {
		t.Fatalf("Authenticate(%s) = %+v, %v; want code %s", key[:6], p, err, code)
	}
}

// waitUntil polls cond (a state the code under test reaches on its own,
// not a guess at how long it takes) until it holds, failing after 5 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(50 * time.Microsecond)
	}
}
