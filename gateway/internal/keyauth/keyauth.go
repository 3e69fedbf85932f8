// Package keyauth turns an "Authorization: Bearer sk-..." header into the
// resayil.Principal a gateway request acts for.
//
// A warm request reads no database (docs/architecture.md "Dependency rules"):
// keys are looked up by their SHA-256 in a bounded in-process cache, and only
// a miss reaches the KeyStore, through one shared lookup however many
// requests miss the same key at once. Unknown, revoked and disabled keys are
// cached too (negative entries, a short TTL), so a flood of bad keys does not
// become a flood of queries.
//
// Freshness: account-changed events (pkg/accountevents, through
// HandleEvent) call the Invalidate methods, which is how a revoked key, a
// disabled account or a plan change takes effect within seconds on every
// replica; the TTLs bound staleness when an event is lost. Key last-used
// times are written in batches by LastUsedFlusher, off the request path.
// A cached principal carries its plan's expiry, so an expired plan falls
// back to Basic at that instant with no event at all.
//
// Availability: a store failure never lets a request through. A key that
// was cached before the store went down keeps working for up to
// Config.MaxStale, so that in Redis mode a database outage does not stop
// warm keys (docs/architecture.md "Failure behaviour"); a key that was not
// cached answers resayil.EUNAVAILABLE.
//
// The package imports no database code; keystore is the SQL KeyStore.
package keyauth

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// KeyStore finds the principal of an API key. keystore.Store implements it.
type KeyStore interface {
	// LookupKey returns the principal of the key whose api_keys.key_hash is
	// keyHash (lowercase hex SHA-256 of the full key), with the account's
	// active plan, or Basic with Subscribed false when it has none. It fails
	// with resayil.ENOTFOUND when the key is unknown or revoked, or its user
	// or account is disabled; any other error means the store failed.
	LookupKey(ctx context.Context, keyHash string) (resayil.Principal, error)
}

// Config tunes an Authenticator. Zero fields take the defaults named.
type Config struct {
	// MaxEntries bounds the cache, positive and negative entries together
	// (default 100,000: about 30 MB at worst). A full cache evicts the least
	// recently used entry of a random sample.
	MaxEntries int
	// PositiveTTL is how long a found key is served without asking the
	// store (default 30 s). Events invalidate sooner; this bounds a lost event.
	PositiveTTL time.Duration
	// NegativeTTL is how long an unknown, revoked or disabled key is refused
	// without asking the store (default 5 s, the gateway's freshness bound,
	// so a re-enabled account works again within 5 s even without an event).
	NegativeTTL time.Duration
	// MaxStale is how long past PositiveTTL a found key is still served
	// while the store fails (default 10 min). Zero takes the default; a
	// negative value turns stale serving off.
	MaxStale time.Duration
	// RetryInterval: while a stale entry is being served, at most one request
	// per key per interval waits for the store to be tried again (default 2 s),
	// so a down database does not add its timeout to every request.
	RetryInterval time.Duration
	// LookupTimeout bounds one store lookup (default 3 s). The lookup is
	// shared by every request waiting for the key, so it does not end when
	// the request that started it goes away.
	LookupTimeout time.Duration
	// Plans supplies the Basic plan (default: DefaultBasicPlan).
	Plans Plans
	// LastUsed, when set, is told the key id of every authenticated request.
	LastUsed *LastUsedFlusher
	// Now is the clock (default time.Now). Tests pass a manual one.
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.MaxEntries == 0 {
		c.MaxEntries = 100_000
	}
	if c.PositiveTTL == 0 {
		c.PositiveTTL = 30 * time.Second
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = 5 * time.Second
	}
	if c.MaxStale == 0 {
		c.MaxStale = 10 * time.Minute
	}
	if c.MaxStale < 0 {
		c.MaxStale = 0
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = 2 * time.Second
	}
	if c.LookupTimeout == 0 {
		c.LookupTimeout = 3 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxEntries < 0 || c.PositiveTTL < 0 || c.NegativeTTL < 0 || c.RetryInterval < 0 || c.LookupTimeout < 0 {
		return errors.New("keyauth: negative cache size or duration")
	}
	return nil
}

// Authenticator authenticates API keys through the cache. It is safe for
// concurrent use.
type Authenticator struct {
	store KeyStore
	cfg   Config
	cache *cache
	// gen counts invalidations. A lookup caches its result only if no
	// invalidation happened while it ran: a query that read a key just before
	// its revocation committed must not re-cache the key after the event.
	gen atomic.Uint64
}

// New returns an Authenticator over store.
func New(store KeyStore, cfg Config) (*Authenticator, error) {
	if store == nil {
		return nil, errors.New("keyauth: nil KeyStore")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Authenticator{store: store, cfg: cfg, cache: newCache(cfg.MaxEntries)}, nil
}

// Authenticate returns the principal of the request's Authorization header.
// It fails with resayil.EUNAUTHORIZED when the header is missing or
// malformed or the key is unknown, revoked or disabled (the message masks
// the key like OpenAI's), and with resayil.EUNAVAILABLE when the key is not
// cached and the store fails or ctx ends first. A warm key costs no store
// call and no allocation.
func (a *Authenticator) Authenticate(ctx context.Context, authorizationHeader string) (resayil.Principal, error) {
	key, err := parseHeader(authorizationHeader)
	if err != nil {
		return resayil.Principal{}, err
	}
	h := hashKey(key)
	now := a.cfg.Now()
	sh := a.cache.shard(&h)
	if e, ok := sh.get(&h, now); ok && now.Before(e.freshUntil) {
		if !e.found {
			return resayil.Principal{}, incorrectKey(key)
		}
		return a.finish(e.principal, now), nil
	}
	return a.miss(ctx, key, h, sh)
}

// miss joins or starts the one store lookup of h and waits for it.
func (a *Authenticator) miss(ctx context.Context, key string, h hashKeyT, sh *shard) (resayil.Principal, error) {
	sh.mu.Lock()
	// Another request may have filled the entry since the read lock.
	if e := sh.m[h]; e != nil && a.cfg.Now().Before(e.freshUntil) {
		snap := snapshot(e)
		sh.mu.Unlock()
		if !snap.found {
			return resayil.Principal{}, incorrectKey(key)
		}
		return a.finish(snap.principal, a.cfg.Now()), nil
	}
	c := sh.calls[h]
	if c == nil {
		c = &call{done: make(chan struct{})}
		sh.calls[h] = c
		go a.fetch(ctx, h, sh, c)
	}
	c.waiters++
	sh.mu.Unlock()

	select {
	case <-c.done:
	case <-ctx.Done():
		return resayil.Principal{}, unavailable(ctx.Err())
	}
	switch {
	case c.err != nil:
		return resayil.Principal{}, unavailable(c.err)
	case !c.found:
		return resayil.Principal{}, incorrectKey(key)
	}
	return a.finish(c.principal, a.cfg.Now()), nil
}

// fetch runs one store lookup for every request waiting on c and caches
// its outcome. It runs on its own goroutine so that a waiter can leave
// when its own request ends.
func (a *Authenticator) fetch(ctx context.Context, h hashKeyT, sh *shard, c *call) {
	gen := a.gen.Load()
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.LookupTimeout)
	p, err := a.store.LookupKey(lctx, hex.EncodeToString(h[:]))
	cancel()
	now := a.cfg.Now()

	sh.mu.Lock()
	defer close(c.done)
	defer sh.mu.Unlock()
	delete(sh.calls, h)
	current := gen == a.gen.Load()
	switch {
	case err == nil:
		c.principal, c.found = p, true
		if current {
			fresh := now.Add(a.cfg.PositiveTTL)
			sh.put(h, &entry{principal: p, found: true, freshUntil: fresh, staleUntil: fresh.Add(a.cfg.MaxStale)}, now)
		}
	case resayil.ErrorCode(err) == resayil.ENOTFOUND:
		if current {
			sh.put(h, &entry{freshUntil: now.Add(a.cfg.NegativeTTL)}, now)
		}
	default:
		// Serve the last known principal while the store is down, and let the
		// next attempt wait RetryInterval. A store error never admits a key
		// that is not cached.
		if e := sh.m[h]; e != nil && e.found && now.Before(e.staleUntil) {
			c.principal, c.found = e.principal, true
			e.freshUntil = minTime(now.Add(a.cfg.RetryInterval), e.staleUntil)
			return
		}
		c.err = err
	}
}

// finish applies what changes with time alone: a plan past its expiry is
// Basic again (no event needed), and an unsubscribed account gets today's
// Basic plan.
func (a *Authenticator) finish(p resayil.Principal, now time.Time) resayil.Principal {
	if p.Subscribed && !p.PlanExpiresAt.IsZero() && !now.Before(p.PlanExpiresAt) {
		p.Subscribed = false
		p.PlanExpiresAt = time.Time{}
	}
	if !p.Subscribed {
		if a.cfg.Plans != nil {
			p.Plan = a.cfg.Plans.Basic()
		} else if p.Plan.Code != resayil.TierBasic {
			p.Plan = DefaultBasicPlan()
		}
	}
	if a.cfg.LastUsed != nil {
		a.cfg.LastUsed.Touch(p.KeyID)
	}
	return p
}

func unavailable(cause error) error {
	return fmt.Errorf("%w: %w", &resayil.Error{
		Code:    resayil.EUNAVAILABLE,
		Message: "The API key could not be checked right now. Please retry.",
	}, cause)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// InvalidateKey drops the cached entry of one key hash (lowercase hex, as
// HashKey returns): the key is looked up again on its next use.
func (a *Authenticator) InvalidateKey(keyHash string) {
	var h hashKeyT
	if n, err := hex.Decode(h[:], []byte(keyHash)); err != nil || n != len(h) {
		return
	}
	a.gen.Add(1)
	sh := a.cache.shard(&h)
	sh.mu.Lock()
	delete(sh.m, h)
	sh.mu.Unlock()
}

// InvalidateKeyID drops the cached entry of a key by its id, which is what
// accountevents.KindKeyRevoked carries.
func (a *Authenticator) InvalidateKeyID(id resayil.APIKeyID) {
	a.invalidate(func(e *entry) bool { return e.found && e.principal.KeyID == id })
}

// InvalidateAccount drops every cached key that draws on the account (plan
// changed, account disabled or enabled), and every negative entry, since
// one of them may be a key of this account that now works again.
func (a *Authenticator) InvalidateAccount(id resayil.AccountID) {
	a.invalidate(func(e *entry) bool { return !e.found || e.principal.Account == id })
}

// InvalidateUser drops every cached key of the user, whichever account it
// draws on (a team member's keys draw on the team's), and every negative
// entry. accountevents' account events name the user as "user:<id>".
func (a *Authenticator) InvalidateUser(id resayil.UserID) {
	a.invalidate(func(e *entry) bool { return !e.found || e.principal.UserID == id })
}

// InvalidateAll makes every entry look the store up again on its next use
// (accountevents.KindResync: events may have been lost). Negative entries
// are dropped. Found keys are expired rather than dropped, so that they stay
// servable as stale entries if the store is down at that moment: a resync
// often follows the same outage (a reconnect), and dropping them would turn
// every warm key into a 503. A key revoked during the gap is refused as soon
// as the store answers again, as with any expired entry.
func (a *Authenticator) InvalidateAll() {
	a.gen.Add(1)
	a.cache.each(func(s *shard) {
		for h, e := range s.m {
			if !e.found {
				delete(s.m, h)
				continue
			}
			e.freshUntil = time.Time{}
		}
	})
}

func (a *Authenticator) invalidate(match func(*entry) bool) {
	a.gen.Add(1)
	a.cache.each(func(s *shard) { s.deleteIf(match) })
}

// Len returns the number of cached entries, positive and negative.
func (a *Authenticator) Len() int { return a.cache.len() }
