package usage

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/testenv"
)

// The acknowledgement trims exactly what the group is done with: never an
// entry pending for another consumer or not yet delivered, and, once
// nothing is pending, every delivered entry, whoever acknowledged it.
func TestStreams_AckTrimsOnlyWhatTheGroupIsDoneWith(t *testing.T) {
	t.Parallel()
	env := testenv.Redis(t)
	ctx := context.Background()
	name := env.Prefix + "usage:{t}"
	a := &streams{rdb: env.Client, names: []string{name}, group: "writers", consumer: "a"}
	b := &streams{rdb: env.Client, names: []string{name}, group: "writers", consumer: "b"}
	if err := a.ensureGroups(ctx); err != nil {
		t.Fatal(err)
	}
	var all []string
	add := func(n int) {
		for i := range n {
			id, err := env.Client.XAdd(ctx, &redis.XAddArgs{Stream: name, Values: []any{"n", fmt.Sprint(i)}}).Result()
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, id)
		}
	}
	read := func(s *streams, n int) []string {
		got, err := s.read(ctx, n, -1)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(got))
		for i, e := range got {
			ids[i] = e.msg.ID
		}
		return ids
	}
	ack := func(s *streams, ids []string) {
		if err := s.ack(ctx, map[string][]string{name: ids}); err != nil {
			t.Fatal(err)
		}
	}
	left := func() []string {
		msgs, err := env.Client.XRange(ctx, name, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		return ids
	}
	expect := func(step string, want []string) {
		t.Helper()
		if got := left(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: stream holds %v, want %v", step, got, want)
		}
	}

	add(10)
	fromA := read(a, 3) // 0-2 pending for a
	fromB := read(b, 4) // 3-6 pending for b; 7-9 not delivered
	ack(b, fromB)
	expect("b acknowledged while a's older entries are pending", all)
	ack(a, fromA[:1])
	expect("a acknowledged its oldest", all[1:])
	ack(a, fromA[1:])
	expect("nothing pending: every delivered entry goes", all[7:])
	add(2)
	fromB = read(b, 100)
	if len(fromB) != 5 {
		t.Fatalf("b read %d entries, want the 5 undelivered", len(fromB))
	}
	ack(b, fromB)
	expect("all acknowledged", nil)
	if n, err := b.backlog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog %d (%v) after everything was acknowledged, want 0", n, err)
	}

	// Redis lost its data after a read: the acknowledgement of what was
	// read then succeeds, acknowledging and trimming nothing, on a stream
	// that is gone and on one that a new entry created again without the
	// group.
	add(1)
	late := read(a, 1)
	if err := env.Client.Del(ctx, name).Err(); err != nil {
		t.Fatal(err)
	}
	ack(a, late)
	add(1)
	ack(a, late)
	expect("a stream created again without the group", all[len(all)-1:])
}
