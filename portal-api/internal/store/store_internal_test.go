package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
)

// TestTx_RetriesADeadlockVictim: two transactions lock two rows in opposite
// orders, so MariaDB makes one of them a deadlock victim; Tx runs the victim
// again and both commit. Every Store transaction (user, key and plan
// changes included) goes through this retry.
func TestTx_RetriesADeadlockVictim(t *testing.T) {
	db, _ := testenv.MariaDB(t)
	s := New(db)
	ctx := context.Background()
	now := time.Now().UTC()
	var ids [2]int64
	for i := range ids {
		res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
		if err != nil {
			t.Fatal(err)
		}
		ids[i], _ = res.LastInsertId()
	}
	var (
		attempts atomic.Int32
		firstRow [2]chan struct{} // closed when transaction i holds its first row
		errs     [2]error
		wg       sync.WaitGroup
	)
	for i := range firstRow {
		firstRow[i] = make(chan struct{})
	}
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = s.Tx(ctx, func(tx *Store) error {
				attempts.Add(1)
				for k, id := range []int64{ids[i], ids[1-i]} {
					if err := tx.conn(ctx).Exec(`UPDATE accounts SET updated_at = ? WHERE id = ?`, time.Now().UTC(), id).Error; err != nil {
						return err
					}
					if k == 0 && first {
						// Only the first attempt waits: the other transaction
						// then holds the row this one locks next.
						first = false
						close(firstRow[i])
						<-firstRow[1-i]
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("Tx = %v, %v; want both committed", errs[0], errs[1])
	}
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3 (one deadlock victim run again)", n)
	}
}
