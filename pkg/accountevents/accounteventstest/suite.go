// Package accounteventstest is the conformance suite every implementation of
// accountevents.Publisher and Subscriber runs (docs/architecture.md "Two ways
// to run"), so that the gateway reacts to a revoked key the same way with
// Redis and in the embedded mode. The delivery contract it checks is the one
// in the accountevents package doc.
//
// Every wait is woken by the subscription's handler and bounded by Deadline,
// the 5 seconds within which the gateway must act on an event; nothing
// sleeps to synchronise.
package accounteventstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
)

// Deadline is the longest the suite waits for a delivery or for Subscribe to
// return: every replica acts on an event within 5 s (docs/architecture.md
// "Failure behaviour": a revoked key is refused within 5 seconds).
const Deadline = 5 * time.Second

// Replicas is how many subscriptions the suite runs at once.
const Replicas = 3

// Pair is one implementation under test, on fresh state (a fresh channel
// prefix or a fresh database) so that subtests never see each other.
type Pair struct {
	Publisher accountevents.Publisher
	// Subscriber is subscribed Replicas times, each subscription standing
	// for one gateway replica.
	Subscriber accountevents.Subscriber
	// Disrupt cuts the connection of every live subscription of this Pair,
	// as a network failure or a server restart would. Nil when the
	// implementation keeps no connection whose loss could drop events.
	Disrupt func(t *testing.T)
}

// RunConformance runs every subtest on a fresh Pair from newPair.
func RunConformance(t *testing.T, newPair func(t *testing.T) Pair) {
	tests := []struct {
		name string
		fn   func(t *testing.T, p Pair)
	}{
		{"DeliversToEverySubscriptionInOrder", testDeliversInOrder},
		{"DoesNotReplayEarlierEvents", testNoReplay},
		{"StopsWhenContextEnds", testStops},
		{"ConcurrentPublishersLoseNothing", testConcurrentPublishers},
		{"RejectsInvalidEvents", testRejectsInvalid},
		{"ResyncAfterConnectionLoss", testResyncAfterDisruption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newPair(t)) })
	}
}

func publish(t *testing.T, p accountevents.Publisher, ev accountevents.Event) {
	t.Helper()
	if err := p.Publish(context.Background(), ev); err != nil {
		t.Fatalf("Publish(%+v): %v", ev, err)
	}
}

func replicas(t *testing.T, p Pair) []*recorder {
	t.Helper()
	rs := make([]*recorder, Replicas)
	for i := range rs {
		rs[i] = subscribe(t, fmt.Sprintf("replica %d", i+1), p.Subscriber)
	}
	for _, r := range rs {
		r.waitLive(t)
	}
	return rs
}

func testDeliversInOrder(t *testing.T, p Pair) {
	rs := replicas(t, p)
	at := time.Date(2025, 3, 1, 10, 30, 0, 123456789, time.FixedZone("Asia/Kuwait", 3*3600))
	kinds := []accountevents.Kind{
		accountevents.KindKeyRevoked, accountevents.KindAccountDisabled, accountevents.KindAccountEnabled,
		accountevents.KindPlanChanged, accountevents.KindCloudBudgetChanged, accountevents.KindWalletGranted,
		"some_future_kind",
	}
	var want []accountevents.Event
	before := time.Now()
	for i := range 21 {
		ev := accountevents.Event{Kind: kinds[i%len(kinds)], Account: resayil.AccountID(i * 7), Subject: fmt.Sprintf("key:%d", i)}
		switch i % 3 {
		case 0:
			ev.At = at.Add(time.Duration(i) * time.Second) // explicit, non-UTC, nanoseconds
		case 1:
			ev.Subject = "" // empty subject; At stamped by Publish
		case 2:
			ev.Subject = strings.Repeat("م", 20) + strings.Repeat("x", accountevents.MaxSubjectLen-40)
		}
		publish(t, p.Publisher, ev)
		want = append(want, ev)
	}
	after := time.Now()
	for _, r := range rs {
		got := r.waitReal(t, len(want))
		if len(got) != len(want) {
			t.Fatalf("%s: got %d events, want %d: %s", r.name, len(got), len(want), format(got))
		}
		for i, w := range want {
			g := got[i]
			if w.At.IsZero() {
				if g.At.Before(before.Truncate(time.Microsecond)) || g.At.After(after) {
					t.Errorf("%s: event %d: stamped At %s not within the Publish call [%s, %s]", r.name, i, g.At, before, after)
				}
				w.At = g.At
			}
			norm, err := accountevents.Normalize(w, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if !same(g, norm) {
				t.Errorf("%s: event %d: got %s, want %s", r.name, i, format([]accountevents.Event{g}), format([]accountevents.Event{norm}))
			}
			if g.At.Location() != time.UTC {
				t.Errorf("%s: event %d: At in %s, want UTC", r.name, i, g.At.Location())
			}
		}
		if evs := r.snapshot(); evs[0].Kind != accountevents.KindResync || countResyncs(evs) != 1 {
			t.Errorf("%s: want exactly one resync, first; got %s", r.name, format(evs))
		}
	}
}

func testNoReplay(t *testing.T, p Pair) {
	publish(t, p.Publisher, accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: 1, Subject: "before"})
	r := subscribe(t, "late replica", p.Subscriber)
	r.waitLive(t)
	publish(t, p.Publisher, accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: 1, Subject: "after"})
	got := r.waitReal(t, 1)
	if got[0].Subject != "after" {
		t.Fatalf("an event published before the subscription was live was replayed: %s", format(got))
	}
}

func testStops(t *testing.T, p Pair) {
	rs := replicas(t, p)
	stopped, witness := rs[0], rs[1]
	stopped.stop(t)
	publish(t, p.Publisher, accountevents.Event{Kind: accountevents.KindPlanChanged, Account: 9})
	witness.waitReal(t, 1)
	if n := len(published(stopped.snapshot())); n != 0 || stopped.late.Load() != 0 {
		t.Fatalf("handler called after Subscribe returned (%d events, %d late calls)", n, stopped.late.Load())
	}
}

func testConcurrentPublishers(t *testing.T, p Pair) {
	rs := replicas(t, p)
	const publishers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, publishers*each)
	for i := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				ev := accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: resayil.AccountID(i + 1), Subject: fmt.Sprintf("%d:%02d", i, j)}
				if err := p.Publisher.Publish(context.Background(), ev); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish: %v", err)
	}
	for _, r := range rs {
		got := r.waitReal(t, publishers*each)
		next := make([]int, publishers)
		for _, ev := range got {
			var i, j int
			if _, err := fmt.Sscanf(ev.Subject, "%d:%d", &i, &j); err != nil || i >= publishers {
				t.Fatalf("%s: unexpected event %s", r.name, format([]accountevents.Event{ev}))
			}
			if j != next[i] {
				t.Fatalf("%s: publisher %d: got event %d, want %d (lost, duplicated or reordered): %s", r.name, i, j, next[i], format(got))
			}
			next[i]++
		}
	}
}

func testRejectsInvalid(t *testing.T, p Pair) {
	r := subscribe(t, "replica", p.Subscriber)
	r.waitLive(t)
	bad := map[string]accountevents.Event{
		"no kind":          {Account: 1},
		"resync":           {Kind: accountevents.KindResync},
		"kind too long":    {Kind: accountevents.Kind(strings.Repeat("k", accountevents.MaxKindLen+1))},
		"subject too long": {Kind: accountevents.KindKeyRevoked, Subject: strings.Repeat("s", accountevents.MaxSubjectLen+1)},
		"negative account": {Kind: accountevents.KindKeyRevoked, Account: -1},
	}
	for name, ev := range bad {
		err := p.Publisher.Publish(context.Background(), ev)
		if code := resayil.ErrorCode(err); code != resayil.EINVALID {
			t.Errorf("%s: Publish returned %v (code %q), want code %q", name, err, code, resayil.EINVALID)
		}
	}
	publish(t, p.Publisher, accountevents.Event{Kind: accountevents.KindKeyRevoked, Subject: "marker"})
	if got := r.waitReal(t, 1); got[0].Subject != "marker" {
		t.Fatalf("an invalid event was delivered: %s", format(got))
	}
}

func testResyncAfterDisruption(t *testing.T, p Pair) {
	rs := replicas(t, p)
	if p.Disrupt == nil {
		// No connection to lose: the subscriber resumes from its cursor, so
		// its first resync (the ready signal) must stay its only one while
		// events flow.
		publish(t, p.Publisher, accountevents.Event{Kind: accountevents.KindKeyRevoked, Subject: "after-ready"})
		for _, r := range rs {
			got := r.waitReal(t, 1)
			if n := countResyncs(r.snapshot()); n != 1 || got[0].Subject != "after-ready" {
				t.Fatalf("want exactly one resync and the event, got %d resyncs: %s", n, format(got))
			}
		}
		return
	}
	p.Disrupt(t)
	for _, r := range rs {
		r.waitFor(t, "resynced after the connection was cut", func(evs []accountevents.Event) bool { return countResyncs(evs) >= 2 })
	}
	publish(t, p.Publisher, accountevents.Event{Kind: accountevents.KindAccountDisabled, Account: 5, Subject: "user:5"})
	for _, r := range rs {
		evs := r.waitFor(t, "given the event published after the reconnect", func(evs []accountevents.Event) bool { return len(published(evs)) >= 1 })
		if last := evs[len(evs)-1]; last.Subject != "user:5" {
			t.Errorf("%s: want the new event last, got %s", r.name, format(evs))
		}
	}
}
