package ipban_test

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/ipban"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

type alertRow struct {
	Key, Event, Audience, Locale, Payload, Status string
	CreatedAt                                     time.Time
}

func alerts(t *testing.T, db *database.DB) []alertRow {
	t.Helper()
	rows, err := db.SQL.Query(`SELECT dedupe_key, event, audience, locale, payload, status, created_at FROM notifications WHERE event = 'ip_banned' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []alertRow
	for rows.Next() {
		var r alertRow
		if err := rows.Scan(&r.Key, &r.Event, &r.Audience, &r.Locale, &r.Payload, &r.Status, &r.CreatedAt); err != nil {
			t.Fatal(err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ban(t *testing.T, ip, jail string) ipban.Ban {
	t.Helper()
	b, err := ipban.ParseBan(ip, jail)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func record(t *testing.T, a *ipban.Alerts, ip, jail string) ipban.Outcome {
	t.Helper()
	out, err := a.Record(context.Background(), ban(t, ip, jail))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// One alert per address per hour from its last alert: a second ban
// within the hour (by either jail, in either spelling of the address) is
// silent, one an hour after the alert alerts again, and addresses whose
// text is a prefix of another's are separate.
func TestRecord_OneAlertPerAddressPerHour(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			t0 := time.Date(2026, 12, 7, 10, 59, 30, 0, time.UTC)
			c := &clock{now: t0}
			a := ipban.New(db, c.Now)

			if out := record(t, a, "203.0.113.7", "resayil-portal"); !out.Alerted || !out.AlertedAt.Equal(t0) {
				t.Fatalf("first ban: %+v", out)
			}
			got := alerts(t, db)
			want := alertRow{Key: "ip_banned:203.0.113.7#0", Event: "ip_banned", Audience: "admins", Locale: "en",
				Payload: `{"params":["203.0.113.7","resayil-portal"]}`, Status: "pending", CreatedAt: t0}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("alerts = %+v, want [%+v]", got, want)
			}

			// Within the hour, across a clock hour: silent, whichever jail.
			c.Set(t0.Add(2 * time.Minute))
			if out := record(t, a, "::ffff:203.0.113.7", "resayil-gateway"); out.Alerted || !out.AlertedAt.Equal(t0) {
				t.Fatalf("ban 2 min later: %+v", out)
			}
			c.Set(t0.Add(ipban.Window - time.Microsecond))
			if out := record(t, a, "203.0.113.7", "resayil-portal"); out.Alerted {
				t.Fatalf("ban just under an hour later: %+v", out)
			}

			// Other addresses, among them ones whose text extends this one's.
			for _, ip := range []string{"203.0.113.70", "2001:db8::1", "2001:db8::1:5", "2001:db8::"} {
				if out := record(t, a, ip, "resayil-portal"); !out.Alerted {
					t.Fatalf("first ban of %s: %+v", ip, out)
				}
			}

			// An hour after the alert: a new one, chained to it.
			t1 := t0.Add(ipban.Window)
			c.Set(t1)
			if out := record(t, a, "203.0.113.7", "resayil-gateway"); !out.Alerted || !out.AlertedAt.Equal(t1) {
				t.Fatalf("ban an hour later: %+v", out)
			}
			c.Set(t1.Add(30 * time.Minute))
			if out := record(t, a, "203.0.113.7", "resayil-portal"); out.Alerted || !out.AlertedAt.Equal(t1) {
				t.Fatalf("ban half an hour after the second alert: %+v", out)
			}
			got = alerts(t, db)
			if len(got) != 6 {
				t.Fatalf("%d alerts, want 6: %+v", len(got), got)
			}
			last := got[len(got)-1]
			if last.Payload != `{"params":["203.0.113.7","resayil-gateway"]}` || !last.CreatedAt.Equal(t1) {
				t.Fatalf("second alert of 203.0.113.7: %+v", last)
			}
			var firstID int64
			if err := db.SQL.QueryRow(`SELECT id FROM notifications WHERE dedupe_key = 'ip_banned:203.0.113.7#0'`).Scan(&firstID); err != nil {
				t.Fatal(err)
			}
			if want := "ip_banned:203.0.113.7#" + strconv.FormatInt(firstID, 10); last.Key != want {
				t.Fatalf("second alert's key %q, want %q", last.Key, want)
			}
		})
	}
}

// Reports of one ban arriving at once (two jails, fail2ban's retries, the
// endpoint and the command) write one alert, and every caller learns when.
func TestRecord_ConcurrentBansAlertOnce(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, dsn := testenv.Open(t, b)
			now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			// Two connections pools, as the server and the command have.
			other, err := database.Open(context.Background(), dsn, database.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			sides := []*ipban.Alerts{ipban.New(db, func() time.Time { return now }), ipban.New(other, func() time.Time { return now })}
			const n = 12
			outs := make([]ipban.Outcome, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					b, _ := ipban.ParseBan("198.51.100.23", "resayil-portal")
					outs[i], errs[i] = sides[i%2].Record(context.Background(), b)
				}()
			}
			close(start)
			wg.Wait()
			alerted := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("report %d: %v", i, errs[i])
				}
				if outs[i].Alerted {
					alerted++
				}
				if !outs[i].AlertedAt.Equal(now) {
					t.Errorf("report %d: alerted at %v, want %v", i, outs[i].AlertedAt, now)
				}
			}
			if got := alerts(t, db); alerted != 1 || len(got) != 1 {
				t.Fatalf("%d reports said they alerted, %d rows: %+v", alerted, len(got), got)
			}
		})
	}
}

func TestParseBan(t *testing.T) {
	good := map[string]string{
		"203.0.113.7":        "203.0.113.7",
		" 2001:DB8::1 ":      "2001:db8::1",
		"::ffff:203.0.113.7": "203.0.113.7",
	}
	for in, want := range good {
		b, err := ipban.ParseBan(in, "resayil-portal")
		if err != nil || b.IP != netip.MustParseAddr(want) || b.Jail != "resayil-portal" {
			t.Errorf("ParseBan(%q) = %+v, %v", in, b, err)
		}
	}
	bad := []struct{ ip, jail, fields string }{
		{"", "resayil-portal", "ip"},
		{"203.0.113.7/32", "resayil-portal", "ip"},
		{"fe80::1%eth0", "resayil-portal", "ip"},
		{"example.com", "", "ip,jail"},
		{"203.0.113.7", "jail with spaces", "jail"},
		{"203.0.113.7", "a\"b", "jail"},
		{"203.0.113.7", string(make([]byte, ipban.MaxJail+1)), "jail"},
	}
	for _, tc := range bad {
		_, err := ipban.ParseBan(tc.ip, tc.jail)
		var e *resayil.Error
		if !errors.As(err, &e) || e.Code != resayil.EINVALID {
			t.Errorf("ParseBan(%q, %q) = %v, want invalid", tc.ip, tc.jail, err)
			continue
		}
		var names string
		for i, f := range e.Fields {
			if i > 0 {
				names += ","
			}
			names += f.Field
		}
		if names != tc.fields {
			t.Errorf("ParseBan(%q, %q) names %q, want %q", tc.ip, tc.jail, names, tc.fields)
		}
	}
}
