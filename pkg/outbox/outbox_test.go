package outbox_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/outbox"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

type row struct {
	event, audience, locale, payload, status string
	account, user                            sql.NullInt64
	attempts                                 int
	due                                      time.Time
}

func read(t *testing.T, db *database.DB, key string) (row, int) {
	t.Helper()
	var (
		r row
		n int
	)
	if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM notifications WHERE dedupe_key = ?`, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		return r, 0
	}
	err := db.SQL.QueryRow(`SELECT event, audience, locale, payload, status, account_id, user_id, attempts, next_attempt_at
FROM notifications WHERE dedupe_key = ?`, key).Scan(&r.event, &r.audience, &r.locale, &r.payload, &r.status, &r.account, &r.user, &r.attempts, &r.due)
	if err != nil {
		t.Fatal(err)
	}
	return r, n
}

// newUser inserts an account and its user, whose locale is locale.
func newUser(t *testing.T, db *database.DB, email, locale string) (resayil.AccountID, resayil.UserID) {
	t.Helper()
	now := time.Now().UTC()
	res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := res.LastInsertId()
	res, err = db.SQL.Exec(`INSERT INTO users (account_id, email, email_normalized, phone, name, password_hash, locale, created_at, updated_at)
VALUES (?, ?, ?, '+96512345678', 'U', 'x', ?, ?, ?)`, acct, email, email, locale, now, now)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := res.LastInsertId()
	return resayil.AccountID(acct), resayil.UserID(user)
}

func TestInsert(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := testenv.Open(t, backend)
			now := dbtime.Of(time.Now())
			acct, user := newUser(t, db, "ar@example.com", "ar")

			t.Run("OnceByDedupeKey", func(t *testing.T) {
				n := outbox.Notification{DedupeKey: "credits_low:1:1", Event: "credits_low", Audience: outbox.AudienceUser,
					Account: acct, Payload: outbox.Params{Params: []string{"19", "https://portal.example/billing"}}}
				if ok, err := outbox.Insert(ctx, db.SQL, db.Dialect, n, now); !ok || err != nil {
					t.Fatalf("first Insert = %v, %v; want inserted", ok, err)
				}
				n.Payload = outbox.Params{Params: []string{"changed"}}
				if ok, err := outbox.Insert(ctx, db.SQL, db.Dialect, n, now); ok || err != nil {
					t.Fatalf("second Insert = %v, %v; want nothing inserted, no error", ok, err)
				}
				r, count := read(t, db, n.DedupeKey)
				// The account's user and their locale, found by the insert.
				want := row{event: "credits_low", audience: "user", locale: "ar", status: "pending",
					payload: `{"params":["19","https://portal.example/billing"]}`,
					account: sql.NullInt64{Int64: int64(acct), Valid: true}, user: sql.NullInt64{Int64: int64(user), Valid: true}, due: now}
				if r.due = r.due.UTC(); count != 1 || r != want {
					t.Fatalf("%d rows, %+v; want one, %+v", count, r, want)
				}
			})

			t.Run("AccountWithoutUser", func(t *testing.T) {
				team := newAccountOnly(t, db)
				n := outbox.Notification{DedupeKey: "credits_exhausted:team", Event: "credits_exhausted", Audience: outbox.AudienceUser,
					Account: team, Payload: outbox.Params{Params: []string{"https://portal.example/billing"}}}
				if ok, err := outbox.Insert(ctx, db.SQL, db.Dialect, n, now); !ok || err != nil {
					t.Fatalf("Insert = %v, %v", ok, err)
				}
				if r, _ := read(t, db, n.DedupeKey); r.user.Valid || r.locale != "en" || r.account.Int64 != int64(team) {
					t.Fatalf("row %+v; want the account, no user, locale en", r)
				}
			})

			t.Run("AdminsAsGiven", func(t *testing.T) {
				type budget struct {
					Day    string   `json:"day"`
					Params []string `json:"params"`
				}
				n := outbox.Notification{DedupeKey: "cloud_budget_80:2026-12-07", Event: "cloud_budget_80", Audience: outbox.AudienceAdmins,
					Payload: budget{Day: "2026-12-07", Params: []string{"400", "500"}}}
				if ok, err := outbox.Insert(ctx, db.SQL, db.Dialect, n, now); !ok || err != nil {
					t.Fatalf("Insert = %v, %v", ok, err)
				}
				r, _ := read(t, db, n.DedupeKey)
				if r.user.Valid || r.account.Valid || r.locale != "en" || r.audience != "admins" ||
					r.payload != `{"day":"2026-12-07","params":["400","500"]}` {
					t.Fatalf("row %+v", r)
				}
			})

			t.Run("Concurrent", func(t *testing.T) {
				var (
					wg       sync.WaitGroup
					inserted atomic.Int64
				)
				start := make(chan struct{})
				for range 50 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						ok, err := outbox.Insert(ctx, db.SQL, db.Dialect, outbox.Notification{DedupeKey: "race", Event: "credits_exhausted",
							Audience: outbox.AudienceUser, Account: acct, Payload: outbox.Params{Params: []string{"x"}}}, now)
						if err != nil {
							t.Error(err)
						}
						if ok {
							inserted.Add(1)
						}
					}()
				}
				close(start)
				wg.Wait()
				if _, n := read(t, db, "race"); n != 1 || inserted.Load() != 1 {
					t.Fatalf("%d rows, %d inserts reported; want 1 and 1", n, inserted.Load())
				}
			})

			t.Run("Invalid", func(t *testing.T) {
				for _, n := range []outbox.Notification{
					{Event: "e", Audience: "user"},
					{DedupeKey: "k", Audience: "user"},
					{DedupeKey: "k", Event: "e"},
					{DedupeKey: string(make([]byte, 192)), Event: "e", Audience: "user"},
				} {
					if _, err := outbox.Insert(ctx, db.SQL, db.Dialect, n, now); err == nil {
						t.Fatalf("Insert(%+v) accepted", n)
					}
				}
			})
		})
	}
}

func newAccountOnly(t *testing.T, db *database.DB) resayil.AccountID {
	t.Helper()
	now := time.Now().UTC()
	res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('team', 'active', ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return resayil.AccountID(id)
}
