// Package usage is the background writer of Redis mode: it moves the usage
// events that walletredis Settle appends to the Redis usage streams into the
// database, as usage_records rows and debits of wallets.balance_credits
// (docs/architecture.md "Two ways to run").
//
// # Delivery
//
// Every gateway replica runs one Writer. The Writers read all usage streams
// (walletredis.Keys.Streams) through one consumer group, each under its own
// consumer name, so replicas share the work and an entry is handed to one
// of them. An entry stays in the group's pending list until its Writer has
// committed it to the database; only then is it acknowledged and deleted
// (the streams are never trimmed, which could drop unwritten events). An
// entry whose Writer died before acknowledging it is claimed by another
// Writer (XAUTOCLAIM) once it has been idle for Config.ClaimMinIdle, so a
// crashed writer loses nothing. Entries delivered to a Writer whose reply
// was lost (a Redis error mid-read), or pending under a Config.Consumer
// name kept across a restart, are read back by that Writer at once.
//
// # Exactly once (invariant 2)
//
// Delivery is at least once: a claimed entry may already be in the database
// (its Writer died between commit and acknowledgement), the same event may
// sit twice in a stream, two Writers may hold the same entry. The database
// makes it exactly once: usage_records.request_id is unique
// (uq_usage_request_id), each batch is one transaction that inserts the rows
// and debits, per account, only the credits of the rows this transaction
// inserted. A replayed entry inserts nothing and so debits nothing. See
// store.go for how the inserted rows are told apart from the duplicates.
//
// # Balance alerts
//
// The live wallet reports the balance alerts on the same streams
// (walletredis, "Usage stream"): a usage event carries the alert its debit
// raised (the balance crossing below a fifth of the period's credits, or
// reaching zero), and a refused request's hold appends an alert event of
// its own. The Writer writes each as a notifications row (credits_low,
// credits_exhausted; walletsql.RecordAlert) in the batch's transaction,
// unless the row of that alert and period exists, so a replayed or
// re-delivered event adds nothing; rows go in dedupe-key order, as debits
// go in account order, so that two Writers' batches do not deadlock.
//
// # Failures
//
// Database down: the batch's transaction fails, its entries stay pending and
// in memory, and the Writer retries the same batch with backoff, reading
// nothing new meanwhile, until the database returns; nothing is lost
// (docs/architecture.md "Failure behaviour"). Redis down: reads and
// acknowledgements are retried with backoff. Each outage is logged once when
// it starts and once when it ends. Entries that cannot be recorded correctly
// (an unknown format version, a malformed number, a value the usage_records
// columns cannot hold) are parked: logged and moved to the dead-letter stream
// (DeadStream) with the reason, never recorded wrongly and never blocking the
// rest.
//
// # Shutdown (invariant 7)
//
// Close stops reading, finishes the batch already read (written and
// acknowledged) and returns. Entries not yet read stay in the streams for
// the next Writer, unless Config.FlushOnClose (the gateway's setting) has
// Close write what the streams hold when it is called. If Close's context ends first, what was read but not
// written stays pending in Redis and another Writer claims it.
package usage

import (
	"log/slog"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// Defaults of Config.
const (
	// DefaultGroup is the consumer group every gateway replica joins.
	DefaultGroup = "usage-writer"
	// DefaultBatchSize is the most entries read from one stream at once
	// and the most rows written in one transaction: large enough that a
	// backlog drains in few transactions, small enough that one
	// transaction stays short.
	DefaultBatchSize = 500
	// MaxBatchSize keeps a multi-row INSERT under SQLite's 32766 bound
	// parameters (15 per row).
	MaxBatchSize = 2000
	// DefaultFlushInterval is the longest one blocking read waits, and so
	// how late Close may notice it was called; it is also the default
	// Linger, so it bounds how long an event waits in Redis.
	DefaultFlushInterval = time.Second
	// DefaultClaimMinIdle is how long an entry must sit unacknowledged
	// with another consumer before it is taken over. It must exceed the
	// longest a live Writer takes over one batch, or live Writers steal
	// each other's work (harmless, as duplicates are skipped, but wasted).
	DefaultClaimMinIdle = 30 * time.Second
	// DefaultPruneIdle is how long a consumer with nothing pending may be
	// silent before it is removed from the group: consumer names are per
	// process, so each restart leaves one behind.
	DefaultPruneIdle = 24 * time.Hour
	// DefaultTimeout bounds one database transaction or Redis command
	// (besides the blocking read).
	DefaultTimeout = 30 * time.Second
	// DefaultMaxBackoff is the longest pause between retries.
	DefaultMaxBackoff = 5 * time.Second
)

// Config tunes a Writer; zero fields take the defaults.
type Config struct {
	// Prefix and Shards must be those of the walletredis.Config of every
	// gateway: they name the streams.
	Prefix string
	Shards int
	// Group is the consumer group (default DefaultGroup).
	Group string
	// Consumer is this Writer's name in the group; it must be unique per
	// live Writer. A name stable across restarts (a pod name) lets a
	// restarted Writer take back what it had pending at once. Default:
	// hostname-pid-random.
	Consumer string
	// BatchSize: see DefaultBatchSize; at most MaxBatchSize.
	BatchSize int
	// FlushInterval: see DefaultFlushInterval.
	FlushInterval time.Duration
	// Linger is the pause after a read that found less than a full batch
	// (default FlushInterval; negative means none). Without it, at low
	// rates every settled request woke the writer for a database
	// transaction of its own, on the gateway's cores beside the request
	// path; with it a transaction carries what arrived meanwhile, and fewer
	// transactions mean fewer requests that meet one (the benchmark's
	// concurrency-1 p99: about 0.2 ms lower at 1 s than at 100 ms). An
	// event then reaches the database within about Linger.
	Linger time.Duration
	// FlushOnClose makes Close also write the events that are in the
	// streams when it is called, not only those already read: a gateway
	// closes its Writer after its last request settled, so that its usage
	// is in the database before the process exits (invariant 7) rather
	// than waiting in Redis for another Writer, or for the next start when
	// it was the only one. Events of other replicas read meanwhile are
	// written as any Writer would. It stops at the first Redis error (what
	// is unread stays in the streams) and when Close's context ends.
	FlushOnClose bool
	// ClaimMinIdle: see DefaultClaimMinIdle.
	ClaimMinIdle time.Duration
	// ClaimInterval is how often pending entries of other consumers are
	// looked for (default ClaimMinIdle / 2).
	ClaimInterval time.Duration
	// PruneIdle: see DefaultPruneIdle.
	PruneIdle time.Duration
	// Timeout: see DefaultTimeout.
	Timeout time.Duration
	// MinBackoff (default 100 ms) and MaxBackoff (default
	// DefaultMaxBackoff) bound the pause between retries, which doubles
	// from one to the other.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Logger reports outages, parked entries and unpaid debits (default:
	// discarded).
	Logger *slog.Logger
	// Now stamps wallets.updated_at and measures lag (default time.Now).
	Now func() time.Time
	// TopUpURL is the link the balance alerts carry
	// (wallet.TopUpURL(RESAYIL_PUBLIC_URL)).
	TopUpURL string
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.Consumer == "" {
		c.Consumer = consumerName()
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	c.BatchSize = min(c.BatchSize, MaxBatchSize)
	def(&c.FlushInterval, DefaultFlushInterval)
	if c.Linger == 0 {
		c.Linger = c.FlushInterval
	}
	def(&c.ClaimMinIdle, DefaultClaimMinIdle)
	def(&c.ClaimInterval, c.ClaimMinIdle/2)
	def(&c.PruneIdle, DefaultPruneIdle)
	def(&c.Timeout, DefaultTimeout)
	def(&c.MinBackoff, 100*time.Millisecond)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// DeadStream is the dead-letter stream of parked entries under prefix: each
// entry keeps the original fields and adds error, source_stream and
// source_id. It has no TTL and is never trimmed: what is in it was never
// billed in the database, and an operator decides what to do with it.
func DeadStream(prefix string) string {
	return prefix + walletredis.KeySpace + "usage:dead"
}

// Stats are a Writer's counters since it started, for metrics.
type Stats struct {
	// Written is the usage records inserted (and debited).
	Written int64
	// Duplicates is the entries whose request id was already recorded:
	// replays and re-deliveries; they changed nothing.
	Duplicates int64
	// Alerts is the balance alerts written to the outbox (credits_low,
	// credits_exhausted); an alert whose period already had its row is
	// not counted.
	Alerts int64
	// Parked is the entries moved to the dead-letter stream.
	Parked int64
	// Batches is the transactions committed.
	Batches int64
	// FailedBatches is the transactions that failed (and were retried).
	FailedBatches int64
	// RedisErrors is the Redis commands that failed (and were retried).
	RedisErrors int64
	// Claimed is the entries taken over from other consumers.
	Claimed int64
	// Unpaid is the credits recorded on usage records that the durable
	// balance could not cover (see store.debit): a mismatch between Redis
	// and the database that `ledger verify` will report.
	Unpaid resayil.Credits
	// Lag is, at the last commit, the age of the oldest entry in that
	// batch: how far the database trails the live wallets.
	Lag time.Duration
}
