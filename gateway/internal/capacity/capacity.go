// Package capacity counts the slots of the local Ollama hosts and the
// requests waiting for one, in process (embedded mode, capacitymem) or in
// Redis across every gateway replica (capacityredis), behind one Store that
// both implement and one conformance suite (capacitytest).
//
// A request takes a slot on the least-loaded eligible host that has one
// free (eligible: healthy and holding the model, as the router decides).
// Without one it waits in one queue shared by all hosts, ordered by rank,
// lowest first:
//
//	rank = arrival time − priority × aging step
//
// which is exactly "effective priority = tier priority + waited / aging
// step, first come first served within a tier": comparing two waiters at
// any instant, the one with the higher effective priority has the lower
// rank, and a rank never changes, so the order is a plain sorted set. An
// Enterprise request (priority 2) overtakes Basic requests (0) that arrived
// less than two aging steps before it; a Basic request that has waited
// longer than that is served first, so nobody starves.
//
// Slots and queue places are leases: a slot's holder renews it while its
// request lives (Pool does, in batches) and a waiter renews its place each
// time it polls, so the slots and places of a gateway that died come back
// when their leases run out.
//
// A freed slot goes to the first waiter in rank order that may use its
// host, in the same atomic step as the release; the waiter learns it from
// the release's result (same process) or from a wake-up message
// (capacityredis: pub/sub), and a waiter also polls, which covers a lost
// message and slots freed by an expired lease.
package capacity

import (
	"context"
	"errors"
	"fmt"
)

// Host is one local host as the store sees it on one call: its id (the
// same in every replica, the host's URL) and its slots; 0 slots means the
// host is out (unhealthy) and gets nothing.
type Host struct {
	ID    string
	Slots int
}

// Mode says what a request does when no eligible slot is free.
type Mode int

// Modes of Entry.
const (
	// Queue waits (up to the queue's bound).
	Queue Mode = iota
	// QueueUpTo waits only if at most Entry.MaxWaiting requests wait
	// already; otherwise the answer is Busy (the router sends a paid
	// request to the cloud instead).
	QueueUpTo
	// NoWait takes a free slot or answers Busy.
	NoWait
)

// Entry is a request for a slot.
type Entry struct {
	// ID is unique among live entries (the billing id and an attempt number).
	ID string
	// Priority is the plan's queue priority, for statistics; the order is
	// Rank's.
	Priority int
	// Rank orders the queue, lowest first; Pool sets it to the arrival
	// time in Unix microseconds less Priority aging steps.
	Rank int64
	// Hosts are the eligible host ids.
	Hosts []string
	Mode  Mode
	// MaxWaiting is QueueUpTo's bound.
	MaxWaiting int
	// QueueMax bounds the queue: a request that would be waiter number
	// QueueMax+1 is refused (Full). 0 means unbounded.
	QueueMax int
}

// Result is the outcome of a store call for the caller's entry.
type Result int

// Results.
const (
	// Granted: the entry holds a slot on Outcome.Host.
	Granted Result = iota + 1
	// Queued: the entry waits.
	Queued
	// Busy: no slot was free and the entry's mode forbade waiting.
	Busy
	// Full: the queue is at its bound.
	Full
	// Gone: the entry is neither queued nor granted (its place's lease ran
	// out, or the store lost it).
	Gone
	// Left: Leave removed the entry.
	Left
)

func (r Result) String() string {
	switch r {
	case Granted:
		return "granted"
	case Queued:
		return "queued"
	case Busy:
		return "busy"
	case Full:
		return "full"
	case Gone:
		return "gone"
	case Left:
		return "left"
	}
	return fmt.Sprintf("result(%d)", int(r))
}

// Grant says that a waiting entry now holds a slot on Host.
type Grant struct {
	ID   string
	Host string
}

// Outcome is a store call's answer.
type Outcome struct {
	Result Result
	// Host is the slot's host when Result is Granted.
	Host string
	// Waiting is the number of queued entries after the call.
	Waiting int
	// Woken are the other entries this call granted a slot; the caller
	// tells its own waiters (the store also announces them, see Wakeups).
	Woken []Grant
}

// Held is a slot held by this process, for Renew.
type Held struct {
	ID   string
	Host string
}

// Stats is a snapshot: slots taken per host id and waiting entries per
// priority.
type Stats struct {
	InFlight map[string]int
	Waiting  map[int]int
}

// Store keeps slots and the queue. Every method is atomic and safe for
// concurrent use (capacityredis: across processes). hosts is the caller's
// current view of the hosts; every replica passes the same ids. Expired
// leases never count: in every call a slot or a queue place whose lease ran
// out is as good as gone (its slot free, its waiter not waiting); Poll,
// Renew and Stats also drop them from the store (capacitymem drops them at
// every call). Errors are infrastructure failures (capacityredis marks them
// resayil.EUNAVAILABLE).
type Store interface {
	// Enter gives e a slot if one of its hosts has one free after the
	// queued entries were served, else queues it as e.Mode allows.
	Enter(ctx context.Context, hosts []Host, e Entry) (Outcome, error)
	// Poll renews a queued entry's place, serves the queue, and reports
	// whether id was granted a slot since (Granted with its Host, once),
	// still waits (Queued) or is Gone.
	Poll(ctx context.Context, hosts []Host, id string) (Outcome, error)
	// Leave removes id: its queue place, or its slot (which goes to the
	// next eligible waiter, in Woken). Leaving an unknown id is a no-op.
	Leave(ctx context.Context, hosts []Host, id string) (Outcome, error)
	// Renew extends the leases of held slots and returns the ids whose
	// slot was lost (its lease had run out and it was taken back).
	Renew(ctx context.Context, hosts []Host, held []Held) (lost []string, err error)
	// Stats returns the current counts.
	Stats(ctx context.Context, hosts []Host) (Stats, error)
	// Wakeups calls fn with every grant any process makes (so a waiter
	// in this process learns of a slot another process freed) until ctx
	// ends. Delivery is best effort: waiters also poll.
	Wakeups(ctx context.Context, fn func(Grant)) error
}

// Errors of Pool.Acquire.
var (
	// ErrNoHost: none of the request's hosts is up.
	ErrNoHost = errors.New("capacity: no eligible host is up")
	// ErrQueueFull: the queue is at its bound.
	ErrQueueFull = errors.New("capacity: the queue is full")
	// ErrTimeout: no slot came within the request's wait.
	ErrTimeout = errors.New("capacity: no slot within the queue timeout")
)

// BusyError is Acquire's answer when the request's mode forbade waiting.
type BusyError struct {
	// Waiting is the number of requests that were waiting.
	Waiting int
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("capacity: no free slot and %d requests waiting", e.Waiting)
}

// IsBusy reports whether err is a *BusyError.
func IsBusy(err error) bool {
	var b *BusyError
	return errors.As(err, &b)
}
