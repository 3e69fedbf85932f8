package capacityredis

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/redisscript"
)

// queued is one operation of the script queued on a caller's pipeline, so
// that the gateway sends it in a round trip it makes anyway. The script
// stays in the {capacity} slot: on a *redis.ClusterClient the pipeline is
// split per node.
type queued struct {
	op string
	q  redisscript.Queued
	// s and id, for an enter: its outcome is recorded (Store.entered).
	s  *Store
	id string
}

func (s *Store) queue(ctx context.Context, p redis.Pipeliner, op string, hosts []capacity.Host, extra ...any) *queued {
	keys, args := s.call(op, hosts, extra...)
	return &queued{op: op, q: redisscript.Queue(ctx, p, s.client, script, keys, args...)}
}

// Result is the operation's answer once the pipeline ran (redisscript:
// EVAL when Redis had lost its script cache).
func (c *queued) Result(ctx context.Context) (capacity.Outcome, error) {
	r, err := c.q.Reply(ctx).Slice()
	r, err = reply(c.op, r, err)
	var out capacity.Outcome
	if err == nil {
		out, _ = outcome(r)
	}
	if c.s != nil {
		c.s.entered(c.id, out, err)
	}
	return out, err
}

// LeaveCmd is a Leave queued on a pipeline.
type LeaveCmd struct{ *queued }

// QueueLeave queues Leave(hosts, id) on p (the gateway frees a slot in the
// same round trip as its settlement); call Result after p's Exec.
func (s *Store) QueueLeave(ctx context.Context, p redis.Pipeliner, hosts []capacity.Host, id string) *LeaveCmd {
	return &LeaveCmd{s.queue(ctx, p, "leave", hosts, s.leaveArgs(id)...)}
}

// EnterCmd is an Enter queued on a pipeline.
type EnterCmd struct{ *queued }

// QueueEnter queues Enter(hosts, e) on p (the gateway tries a free slot in
// the same round trip as the rate limit and the credit hold); call Result
// after p's Exec.
func (s *Store) QueueEnter(ctx context.Context, p redis.Pipeliner, hosts []capacity.Host, e capacity.Entry) *EnterCmd {
	q := s.queue(ctx, p, "enter", hosts, enterArgs(e)...)
	q.s, q.id = s, e.ID
	return &EnterCmd{q}
}

func enterArgs(e capacity.Entry) []any {
	return []any{e.ID, e.Priority, e.Rank, strings.Join(e.Hosts, "\n"), modeArg(e.Mode), e.MaxWaiting, e.QueueMax}
}
