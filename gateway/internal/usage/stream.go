package usage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// streams holds the Redis side of a Writer: the usage streams, the group,
// and the dead-letter stream.
//
// Every command names one stream, except the blocking read, which names all
// of them so that one connection waits for any shard. Acknowledgements,
// claims and parking are pipelines of single-stream commands. That read is
// the one command Redis Cluster would refuse (CROSSSLOT: each stream has
// its own hash tag); a Cluster deployment needs it replaced by one read per
// stream.
type streams struct {
	rdb      redis.UniversalClient
	names    []string
	group    string
	consumer string
	dead     string
}

// ensureGroups creates the group on every stream (and the stream, if
// missing). The group starts at the first entry ("0"), so events appended
// before any Writer existed are written too; an existing group is kept.
func (s *streams) ensureGroups(ctx context.Context) error {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StatusCmd, len(s.names))
	for i, name := range s.names {
		cmds[i] = pipe.XGroupCreateMkStream(ctx, name, s.group, "0")
	}
	_, _ = pipe.Exec(ctx)
	for _, c := range cmds {
		if err := c.Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create consumer group: %w", err)
		}
	}
	return nil
}

// isNoGroup reports the error of a stream or group that is gone (Redis lost
// its data): the groups must be created again.
func isNoGroup(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOGROUP")
}

// read returns up to count new entries per stream, waiting up to block for
// the first one.
func (s *streams) read(ctx context.Context, count int, block time.Duration) ([]entry, error) {
	return s.readFrom(ctx, ">", count, block)
}

// readOwn returns up to count entries per stream that are pending for this
// consumer: delivered by a read or a claim whose reply was lost.
func (s *streams) readOwn(ctx context.Context, count int) ([]entry, error) {
	return s.readFrom(ctx, "0", count, -1)
}

func (s *streams) readFrom(ctx context.Context, id string, count int, block time.Duration) ([]entry, error) {
	args := make([]string, 0, 2*len(s.names))
	args = append(args, s.names...)
	for range s.names {
		args = append(args, id)
	}
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: s.group, Consumer: s.consumer, Streams: args, Count: int64(count), Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read usage streams: %w", err)
	}
	var out []entry
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, entry{stream: st.Stream, msg: m})
		}
	}
	return out, nil
}

// claim takes over entries that other consumers left pending for at least
// minIdle, up to count per stream, continuing from cursors (one per stream,
// "0-0" to start over), which it advances. more is true when some stream
// has more to claim.
func (s *streams) claim(ctx context.Context, cursors []string, minIdle time.Duration, count int) (out []entry, more bool, err error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XAutoClaimCmd, len(s.names))
	for i, name := range s.names {
		cmds[i] = pipe.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: name, Group: s.group, Consumer: s.consumer, MinIdle: minIdle, Start: cursors[i], Count: int64(count),
		})
	}
	_, _ = pipe.Exec(ctx)
	for i, c := range cmds {
		msgs, next, err := c.Result()
		if err != nil {
			return nil, false, fmt.Errorf("claim pending usage: %w", err)
		}
		cursors[i] = next
		more = more || next != "0-0"
		for _, m := range msgs {
			out = append(out, entry{stream: s.names[i], msg: m})
		}
	}
	return out, more, nil
}

// ack acknowledges entries and trims each stream below the oldest entry
// still needed (ackScript).
func (s *streams) ack(ctx context.Context, ids map[string][]string) error {
	pipe := s.rdb.Pipeline()
	for stream, list := range ids {
		args := make([]any, 0, len(list)+1)
		args = append(args, s.group)
		for _, id := range list {
			args = append(args, id)
		}
		// Eval, not Run: in a pipeline EVALSHA's NOSCRIPT is seen too late
		// to fall back. The script is short; the batch carries hundreds of
		// ids anyway.
		ackScript.Eval(ctx, pipe, []string{stream}, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("acknowledge usage: %w", err)
	}
	return nil
}

// ackScript acknowledges ARGV[2...] in the group ARGV[1] of the stream
// KEYS[1], then trims the stream of every entry the group is done with:
// those below the oldest entry still pending, or, with nothing pending,
// every entry up to the last one delivered. A group delivers in id order
// and was created at "0" (ensureGroups), so an entry below the oldest
// pending one, or up to the last delivered with none pending, was
// delivered and acknowledged: written, or parked. What stays is what is
// not written yet, and, while another writer's older batch is in flight,
// written entries newer than it, trimmed by the next acknowledgement
// after that batch's.
//
// Why trim rather than XDEL the ids: XDEL finds and flags each entry on
// its own (about 2.5 µs an entry, measured inside a benchmark run), where
// XTRIM drops whole nodes of a hundred entries at once. XPENDING, XINFO
// and XTRIM run in one script so that no entry is delivered between the
// check and the trim.
var ackScript = redis.NewScript(`
local n = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
-- A stream or group lost with Redis's data (the XACK then acknowledged
-- nothing): nothing to trim; the writer creates the group again.
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if p.err then return n end
local to
if p[1] > 0 then
  to = p[2]
else
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local f = {}
    for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
    if f['name'] == ARGV[1] then
      -- just after the last delivered id "ms-seq" (exact below 2^53; past
      -- that, the last delivered entry stays)
      local ms, seq = string.match(f['last-delivered-id'], '^(%d+)-(%d+)$')
      if tonumber(seq) < 9007199254740991 then
        to = ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)
      else
        to = ms .. '-' .. seq
      end
    end
  end
end
if to then redis.call('XTRIM', KEYS[1], 'MINID', to) end
return n
`)

// park copies entries to the dead-letter stream with the reason each could
// not be recorded; the caller then acknowledges them. A failure after some
// copies were made copies those again on retry: a parked entry may appear
// twice, never zero times.
func (s *streams) park(ctx context.Context, bad []entry, reasons []error) error {
	pipe := s.rdb.Pipeline()
	for i, e := range bad {
		values := make(map[string]any, len(e.msg.Values)+3)
		for k, v := range e.msg.Values {
			values[k] = v
		}
		values["error"] = reasons[i].Error()
		values["source_stream"] = e.stream
		values["source_id"] = e.msg.ID
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.dead, Values: values})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("park usage: %w", err)
	}
	return nil
}

// backlog counts the entries in the streams: those not yet written, read or
// not, and, while several writers work, written ones newer than another
// writer's batch in flight (see ackScript).
func (s *streams) backlog(ctx context.Context) (int64, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(s.names))
	for i, name := range s.names {
		cmds[i] = pipe.XLen(ctx, name)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("usage backlog: %w", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// pruneScript removes from a stream's group the consumers other than
// ARGV[3] that have nothing pending and were idle at least ARGV[2] ms, or,
// with ARGV[4] set, only the consumer ARGV[4] if it has nothing pending.
// The check and the removal are one script because XGROUP DELCONSUMER drops
// the consumer's pending entries: they would never be delivered again, so a
// consumer that read something between a check and a removal would lose it.
// Removing a consumer with nothing pending loses nothing, even if it is
// alive after all: its next XREADGROUP creates it again.
var pruneScript = redis.NewScript(`
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  local pick
  if ARGV[4] ~= '' then
    pick = f['name'] == ARGV[4]
  else
    pick = f['name'] ~= ARGV[3] and f['idle'] >= tonumber(ARGV[2])
  end
  if pick and f['pending'] == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
return removed
`)

// prune removes consumers idle for at least idle with nothing pending (each
// gateway process has its own consumer name, so each restart leaves one).
func (s *streams) prune(ctx context.Context, idle time.Duration) error {
	return s.runPrune(ctx, idle.Milliseconds(), "")
}

// leave removes this Writer's own consumer if it has nothing pending.
func (s *streams) leave(ctx context.Context) error {
	return s.runPrune(ctx, 0, s.consumer)
}

func (s *streams) runPrune(ctx context.Context, idleMS int64, only string) error {
	pipe := s.rdb.Pipeline()
	for _, name := range s.names {
		// Eval, not Run: in a pipeline EVALSHA's NOSCRIPT is seen too late to
		// fall back.
		pruneScript.Eval(ctx, pipe, []string{name}, s.group, idleMS, s.consumer, only)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNoGroup(err) {
		return fmt.Errorf("prune consumers: %w", err)
	}
	return nil
}
