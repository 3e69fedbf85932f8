package usage

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// Hooks pause a Writer at the points a test needs to hold it: with a batch
// read but not written (BeforeWrite), and written but not acknowledged
// (AfterCommit). Each gets the context that ends when Close gives up.
type Hooks struct {
	BeforeWrite func(ctx context.Context)
	AfterCommit func(ctx context.Context)
}

// NewWithHooks is New with test hooks.
func NewWithHooks(rdb redis.UniversalClient, db *database.DB, cfg Config, h Hooks) (*Writer, error) {
	w, err := newWriter(rdb, db, cfg)
	if err != nil {
		return nil, err
	}
	w.beforeWrite, w.afterCommit = h.BeforeWrite, h.AfterCommit
	go w.run()
	return w, nil
}

// WriteBatch runs one database batch as the Writer does, for benchmarks.
func WriteBatch(ctx context.Context, db *database.DB, rows []walletredis.Usage) (written, duplicates int, err error) {
	res, err := newStore(db, "").write(ctx, rows, nil, time.Now().UTC().Truncate(time.Microsecond))
	return res.written, res.duplicates, err
}

// Stopping reports whether Close has told w to stop reading.
func Stopping(w *Writer) bool { return w.stopping() }
