package billing

import (
	"container/list"
	"sync"
	"time"
)

// Defaults of the unknown-id memory (Config.UnknownTTL, UnknownMax).
const (
	// DefaultUnknownTTL is how long a paymentId MyFatoorah did not know
	// (or named no payment of ours) is answered without asking again.
	DefaultUnknownTTL = 10 * time.Minute
	// DefaultUnknownMax bounds the ids remembered, about 1 MB at most.
	DefaultUnknownMax = 10000
)

// unknownIDs remembers recent paymentIds that named no payment of ours,
// so that repeating a made-up id on the unauthenticated return route does
// not cost a GetPaymentStatus call (MyFatoorah's quota is the merchant's)
// each time. It is per process and bounded: ids expire after ttl, and when
// full the oldest is forgotten first. Forgetting early only costs one more
// call, so a flood of fresh ids cannot grow memory; the per-IP throttle of
// the route bounds the calls those cost.
type unknownIDs struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	byID  map[string]*list.Element
	order *list.List // of unknownID, oldest first: every entry has the same ttl
}

type unknownID struct {
	id      string
	expires time.Time
}

func newUnknownIDs(ttl time.Duration, max int, now func() time.Time) *unknownIDs {
	return &unknownIDs{ttl: ttl, max: max, now: now, byID: map[string]*list.Element{}, order: list.New()}
}

// has reports whether id was remembered as unknown and has not expired.
func (u *unknownIDs) has(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.expire()
	_, ok := u.byID[id]
	return ok
}

// add remembers id as unknown for ttl, forgetting the oldest id when full.
func (u *unknownIDs) add(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if e, ok := u.byID[id]; ok {
		u.order.Remove(e)
		delete(u.byID, id)
	}
	u.expire()
	for u.order.Len() >= u.max {
		u.drop(u.order.Front())
	}
	u.byID[id] = u.order.PushBack(unknownID{id: id, expires: u.now().Add(u.ttl)})
}

// expire drops the expired ids, which are at the front.
func (u *unknownIDs) expire() {
	now := u.now()
	for e := u.order.Front(); e != nil && !now.Before(e.Value.(unknownID).expires); e = u.order.Front() {
		u.drop(e)
	}
}

func (u *unknownIDs) drop(e *list.Element) {
	delete(u.byID, e.Value.(unknownID).id)
	u.order.Remove(e)
}

func (u *unknownIDs) len() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.order.Len()
}
