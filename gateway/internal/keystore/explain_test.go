package keystore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/gateway/internal/keystore"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

// TestLookupKey_UsesIndexes reads the query plan of the key lookup: the
// key by its unique hash, the subscription through the account index, and
// no table scan or sort, on both dialects.
func TestLookupKey_UsesIndexes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		var key string
		for range 40 {
			u := e.fx.user()
			key, _ = e.fx.key(u, u.Account)
			e.fx.subscribe(u.Account, resayil.TierPro, time.Hour)
		}
		now := e.clk.Now()
		explain := "EXPLAIN "
		if e.backend == testenv.SQLiteBackend {
			explain = "EXPLAIN QUERY PLAN "
		}
		plan := queryPlan(t, e, explain+keystore.LookupSQL, now, now, keyauth.HashKey(key))
		t.Logf("plan:\n%s", plan)
		var want, forbid []string
		if e.backend == testenv.SQLiteBackend {
			want = []string{"SEARCH k USING INDEX uq_api_keys_hash", "SEARCH s2 USING INDEX ix_subscriptions_account"}
			forbid = []string{"SCAN ", "TEMP B-TREE"}
		} else {
			want = []string{"k const uq_api_keys_hash", "s2 ref ix_subscriptions_account"}
			forbid = []string{" ALL ", "filesort", "temporary"}
		}
		for _, w := range want {
			if !strings.Contains(plan, w) {
				t.Errorf("plan lacks %q", w)
			}
		}
		for _, f := range forbid {
			if strings.Contains(plan, f) {
				t.Errorf("plan has %q", f)
			}
		}
	})
}

// queryPlan returns the rows of an EXPLAIN, one line each, with NULL
// columns left out.
func queryPlan(t *testing.T, e *env, q string, args ...any) string {
	t.Helper()
	rows, err := e.fx.db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
			case []byte:
				parts = append(parts, string(v))
			default:
				parts = append(parts, fmt.Sprint(v))
			}
		}
		b.WriteString(" " + strings.Join(parts, " ") + " \n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
