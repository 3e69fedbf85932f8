package capacityredis

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/testenv"
)

// leaves records the arguments after the id of every leave the script
// receives.
type leaves struct {
	mu   sync.Mutex
	args map[string][]any
}

func (l *leaves) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *leaves) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.record(cmd)
		return next(ctx, cmd)
	}
}

func (l *leaves) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			l.record(c)
		}
		return next(ctx, cmds)
	}
}

// record reads an EVALSHA/EVAL of the script: name, sha, numkeys, keys,
// then ARGV (op first, the id at 8 + 2 hosts).
func (l *leaves) record(cmd redis.Cmder) {
	a := cmd.Args()
	if len(a) < 4 || (a[0] != "evalsha" && a[0] != "eval") {
		return
	}
	nk, _ := a[2].(int)
	argv := a[3+nk:]
	if len(argv) < 8 || argv[0] != "leave" {
		return
	}
	nh, _ := argv[6].(int)
	id, _ := argv[7+2*nh].(string)
	l.mu.Lock()
	l.args[id] = argv[8+2*nh:]
	l.mu.Unlock()
}

// A leave says "direct" only for an id this Store saw enter straight into
// a slot; an id that was queued leaves in full, so the grant it may have
// left behind goes with it.
func TestLeave_DirectOnlyAfterADirectEntry(t *testing.T) {
	env := testenv.Redis(t)
	rec := &leaves{args: map[string][]any{}}
	env.Client.AddHook(rec)
	s, err := New(env.Client, Config{Prefix: env.Prefix, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hosts := []capacity.Host{{ID: "a", Slots: 1}}
	entry := func(id string) capacity.Entry {
		return capacity.Entry{ID: id, Hosts: []string{"a"}, Mode: capacity.Queue}
	}

	// d enters directly (pipelined, as the gateway does); q queues behind it.
	p := env.Client.Pipeline()
	ec := s.QueueEnter(ctx, p, hosts, entry("d"))
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := ec.Result(ctx); err != nil || out.Result != capacity.Granted {
		t.Fatalf("d: %+v, %v; want granted", out, err)
	}
	if out, err := s.Enter(ctx, hosts, entry("q")); err != nil || out.Result != capacity.Queued {
		t.Fatalf("q: %+v, %v; want queued", out, err)
	}
	// d leaves: its slot is handed to q, whose grant waits in the granted
	// hash until q picks it up.
	p = env.Client.Pipeline()
	lc := s.QueueLeave(ctx, p, hosts, "d")
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if out, err := lc.Result(ctx); err != nil || len(out.Woken) != 1 || out.Woken[0].ID != "q" {
		t.Fatalf("d's leave: %+v, %v; want q woken", out, err)
	}
	if got := rec.args["d"]; len(got) != 1 || got[0] != "direct" {
		t.Fatalf("d's leave carried %v after the id, want [direct]", got)
	}
	if !env.Client.HExists(ctx, s.keys[3], "q").Val() {
		t.Fatal("q's grant does not wait in the granted hash")
	}
	// q gives up without picking its grant up: the leave is a full one and
	// removes the grant.
	if _, err := s.Leave(ctx, hosts, "q"); err != nil {
		t.Fatal(err)
	}
	if got := rec.args["q"]; len(got) != 0 {
		t.Fatalf("q's leave carried %v after the id, want nothing (it was queued)", got)
	}
	if env.Client.HExists(ctx, s.keys[3], "q").Val() {
		t.Fatal("q's grant was left behind by its leave")
	}
	// A second leave of d (it already left) is a full one.
	if _, err := s.Leave(ctx, hosts, "d"); err != nil {
		t.Fatal(err)
	}
	if got := rec.args["d"]; len(got) != 0 {
		t.Fatalf("d's second leave carried %v, want nothing", got)
	}
}
