package capacity

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Defaults of PoolConfig, with their reasons.
const (
	// DefaultAging: with a 30 s queue timeout, an Enterprise request
	// overtakes Basic requests younger than 20 s and a Pro request those
	// younger than 10 s; anything older than that is served first.
	DefaultAging = 10 * time.Second
	// DefaultPollInterval: how often a waiter checks the store without a
	// wake-up message (a lost message, a dead gateway's expired slot) and
	// renews its place; a place's lease is a few of these.
	DefaultPollInterval = time.Second
	// DefaultRenewInterval: a third of the stores' default slot lease, so
	// one late renewal does not lose a slot.
	DefaultRenewInterval = 10 * time.Second
)

// PoolConfig configures a Pool.
type PoolConfig struct {
	Store Store
	// Hosts returns the current view of the hosts (slots 0 when out).
	Hosts func() []Host
	// Aging is the wait that is worth one priority level.
	Aging time.Duration
	// QueueMax bounds the queue (0: unbounded).
	QueueMax int
	// PollInterval and RenewInterval: see the defaults.
	PollInterval  time.Duration
	RenewInterval time.Duration
	// Now is the time source of ranks; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Pool hands out slots to requests of this process: it queues them in the
// Store, wakes them when a slot is theirs, and renews the leases of the
// slots they hold.
type Pool struct {
	cfg PoolConfig

	mu      sync.Mutex
	waiters map[string]chan string
	held    map[string]string
}

// NewPool returns a Pool; call Run to renew leases and receive wake-ups
// from other processes.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Aging <= 0 {
		cfg.Aging = DefaultAging
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.RenewInterval <= 0 {
		cfg.RenewInterval = DefaultRenewInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Pool{cfg: cfg, waiters: map[string]chan string{}, held: map[string]string{}}
}

// Request asks Acquire for a slot.
type Request struct {
	// ID is unique among this deployment's live requests.
	ID       string
	Priority int
	// Hosts are the eligible host ids, in the caller's order of preference
	// among equally loaded hosts.
	Hosts []string
	Mode  Mode
	// MaxWaiting is QueueUpTo's bound.
	MaxWaiting int
	// Wait bounds the time in the queue.
	Wait time.Duration
}

// Slot is a slot held on Host until Release.
type Slot struct {
	Host string
	// Waited is the time spent in the queue (0 when served at once).
	Waited time.Duration
	id     string
	pool   *Pool
	once   sync.Once
}

// Release frees the slot (the next eligible waiter gets it at once); safe
// to call more than once.
func (s *Slot) Release() {
	s.once.Do(func() { s.pool.release(s.id, nil) })
}

// ReleaseWith is Release through leave, which must do what Store.Leave
// does (the gateway sends it in one round trip with the settlement); leave
// is not called when the slot was already released.
func (s *Slot) ReleaseWith(leave func(hosts []Host, id string) (Outcome, error)) {
	s.once.Do(func() { s.pool.release(s.id, leave) })
}

// Early is a slot entry tried ahead of Acquire, in a round trip the caller
// makes anyway (the gateway sends it with the rate limit and the credit
// hold): a NoWait Enter, so it never queues. When it was granted, Acquire
// with the same request id takes that slot without another store call;
// otherwise Acquire enters as usual. An Early that is not taken must be
// cancelled (Cancel frees a granted slot); both are safe on a nil *Early.
type Early struct {
	pool  *Pool
	id    string
	hosts []Host
	entry Entry
	once  sync.Once
	out   Outcome
	err   error
	set   bool
}

// Early prepares an early entry for r, or returns nil when none of r's
// hosts is up (Acquire then answers ErrNoHost by itself).
func (p *Pool) Early(r Request) *Early {
	hosts := p.cfg.Hosts()
	if !usable(hosts, r.Hosts) {
		return nil
	}
	e := Entry{ID: r.ID, Priority: r.Priority, Hosts: r.Hosts, Mode: NoWait, QueueMax: p.cfg.QueueMax}
	return &Early{pool: p, id: r.ID, hosts: hosts, entry: e}
}

// Hosts and Entry are the arguments of the Store.Enter the caller runs.
func (e *Early) Hosts() []Host { return e.hosts }

// Entry is the NoWait entry to send.
func (e *Early) Entry() Entry { return e.entry }

// Set records the store's answer to the entry (what Store.Enter returned)
// and hands its grants for other waiters of this process to them.
func (e *Early) Set(out Outcome, err error) {
	if e == nil {
		return
	}
	e.out, e.err, e.set = out, err, true
	if err == nil {
		e.pool.wake(out.Woken)
	}
}

// take returns the slot the entry was granted, once; nil when it was not
// granted, was not sent, or was taken or cancelled already.
func (e *Early) take(id string) *Slot {
	if e == nil || e.id != id {
		return nil
	}
	var s *Slot
	e.once.Do(func() {
		if e.set && e.err == nil && e.out.Result == Granted {
			s = e.pool.hold(e.id, e.out.Host, 0)
		}
	})
	return s
}

// Cancel frees the slot the entry was granted unless Acquire took it.
func (e *Early) Cancel() {
	if e == nil {
		return
	}
	e.once.Do(func() {
		if e.set && e.err == nil && e.out.Result == Granted {
			e.pool.leave(e.id)
		}
	})
}

// Acquire returns a slot on one of r.Hosts, waiting in the queue as r.Mode
// allows for up to r.Wait. Errors: ErrNoHost, *BusyError, ErrQueueFull,
// ErrTimeout, ctx's error, or the store's.
func (p *Pool) Acquire(ctx context.Context, r Request) (*Slot, error) {
	return p.AcquireEarly(ctx, r, nil)
}

// AcquireEarly is Acquire that first looks at early: when it holds a slot
// granted to r.ID, that is the slot, without a store call.
func (p *Pool) AcquireEarly(ctx context.Context, r Request, early *Early) (*Slot, error) {
	if s := early.take(r.ID); s != nil {
		return s, nil
	}
	early.Cancel() // granted to another id: give it back
	hosts := p.cfg.Hosts()
	if !usable(hosts, r.Hosts) {
		return nil, ErrNoHost
	}
	start := p.cfg.Now()
	wake := make(chan string, 1)
	p.mu.Lock()
	p.waiters[r.ID] = wake
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiters, r.ID)
		p.mu.Unlock()
	}()
	e := Entry{
		ID: r.ID, Priority: r.Priority, Hosts: r.Hosts, Mode: r.Mode, MaxWaiting: r.MaxWaiting, QueueMax: p.cfg.QueueMax,
		Rank: start.UnixMicro() - int64(r.Priority)*p.cfg.Aging.Microseconds(),
	}
	out, err := p.cfg.Store.Enter(ctx, hosts, e)
	if err != nil {
		return nil, err
	}
	p.wake(out.Woken)
	switch out.Result {
	case Granted:
		return p.hold(r.ID, out.Host, 0), nil
	case Busy:
		return nil, &BusyError{Waiting: out.Waiting}
	case Full:
		return nil, ErrQueueFull
	}
	timeout := time.NewTimer(r.Wait)
	defer timeout.Stop()
	poll := time.NewTicker(p.cfg.PollInterval)
	defer poll.Stop()
	for {
		select {
		case host := <-wake:
			return p.hold(r.ID, host, p.cfg.Now().Sub(start)), nil
		case <-poll.C:
			out, err := p.cfg.Store.Poll(ctx, p.cfg.Hosts(), r.ID)
			if err != nil {
				// A store hiccup: keep waiting; the timeout still applies.
				p.cfg.Log.Warn("capacity: poll", "err", err)
				continue
			}
			p.wake(out.Woken)
			switch out.Result {
			case Granted:
				return p.hold(r.ID, out.Host, p.cfg.Now().Sub(start)), nil
			case Gone:
				// The place was lost (its lease ran out during a store
				// outage): take it again with the original rank.
				e.Mode = Queue
				if out, err = p.cfg.Store.Enter(ctx, p.cfg.Hosts(), e); err == nil {
					p.wake(out.Woken)
					if out.Result == Granted {
						return p.hold(r.ID, out.Host, p.cfg.Now().Sub(start)), nil
					}
				}
			}
		case <-timeout.C:
			p.leave(r.ID)
			return nil, ErrTimeout
		case <-ctx.Done():
			p.leave(r.ID)
			return nil, ctx.Err()
		}
	}
}

func usable(hosts []Host, ids []string) bool {
	for _, h := range hosts {
		if h.Slots > 0 && slices.Contains(ids, h.ID) {
			return true
		}
	}
	return false
}

func (p *Pool) hold(id, host string, waited time.Duration) *Slot {
	p.mu.Lock()
	p.held[id] = host
	p.mu.Unlock()
	return &Slot{Host: host, Waited: waited, id: id, pool: p}
}

func (p *Pool) release(id string, leave func([]Host, string) (Outcome, error)) {
	p.mu.Lock()
	delete(p.held, id)
	p.mu.Unlock()
	if leave == nil {
		p.leave(id)
		return
	}
	p.finishLeave(id, leave)
}

// leave removes id from the store: a queue place, or a slot (granted to
// the next waiter). A store failure is logged: the lease then frees it.
// The store's own timeouts bound the call (go-redis: 3 s reads).
func (p *Pool) leave(id string) {
	p.finishLeave(id, func(hosts []Host, id string) (Outcome, error) {
		return p.cfg.Store.Leave(context.Background(), hosts, id)
	})
}

func (p *Pool) finishLeave(id string, leave func([]Host, string) (Outcome, error)) {
	out, err := leave(p.cfg.Hosts(), id)
	if err != nil {
		p.cfg.Log.Warn("capacity: release; the lease will free it", "id", id, "err", err)
		return
	}
	p.wake(out.Woken)
}

// wake hands grants to this process's waiters; grants for other
// processes' waiters are ignored (the store announces them).
func (p *Pool) wake(gs []Grant) {
	if len(gs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range gs {
		if ch, ok := p.waiters[g.ID]; ok {
			select {
			case ch <- g.Host:
			default:
			}
		}
	}
}

// Run renews the leases of held slots and delivers wake-ups from other
// processes until ctx ends.
func (p *Pool) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		// Waiters poll meanwhile, so an outage only slows wake-ups down.
		backoff := time.Second
		for ctx.Err() == nil {
			err := p.cfg.Store.Wakeups(ctx, func(g Grant) { p.wake([]Grant{g}) })
			if err == nil || ctx.Err() != nil {
				backoff = time.Second
				continue
			}
			if backoff == time.Second {
				p.cfg.Log.Warn("capacity: wake-ups unavailable; waiters poll", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	})
	t := time.NewTicker(p.cfg.RenewInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			p.renew(ctx)
		}
	}
}

func (p *Pool) renew(ctx context.Context) {
	p.mu.Lock()
	held := make([]Held, 0, len(p.held))
	for id, host := range p.held {
		held = append(held, Held{ID: id, Host: host})
	}
	p.mu.Unlock()
	if len(held) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lost, err := p.cfg.Store.Renew(rctx, p.cfg.Hosts(), held)
	if err != nil {
		p.cfg.Log.Warn("capacity: renew slot leases", "slots", len(held), "err", err)
		return
	}
	if len(lost) > 0 {
		p.cfg.Log.Warn("capacity: slot leases lost (renewed too late); those requests run over capacity", "slots", len(lost))
	}
}

// Stats returns the store's counts for the current hosts.
func (p *Pool) Stats(ctx context.Context) (Stats, error) {
	return p.cfg.Store.Stats(ctx, p.cfg.Hosts())
}

// Held returns the number of slots this process holds.
func (p *Pool) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held)
}
