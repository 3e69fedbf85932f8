// Package ipban turns fail2ban's bans into admin alerts: one ip_banned row
// in the notifications outbox (audience admins, payload
// {"params":[ip, jail]}), and none for an address alerted less than Window
// ago, however many jails ban it, however often, and however many ban
// reports arrive at once. fail2ban reports a ban through portal-api's
// internal endpoint or `portal-api notify ip-banned` (deploy/fail2ban).
//
// "Less than Window ago" is measured from the address's last alert, not
// from a fixed clock hour: a ban at 10:59 and another at 11:01 are one
// alert. The check and the insert are made exact by the outbox's unique
// dedupe_key (uq_notifications_dedupe; rows written through pkg/outbox)
// without a table of their own: each alert's key names the alert it
// follows, "ip_banned:<ip>#<id of the address's previous alert, or 0>".
// Two reports at once read the same previous alert, so both try to insert
// the same key, and the unique index lets one through.
package ipban

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/outbox"
	"github.com/resayil/portal/pkg/resayil"
)

// Window is how long after an address's alert another ban of it alerts no
// one.
const Window = time.Hour

// Event is the notifications.event of the alert (its template, seeded in
// notification_templates, reads "fail2ban banned {{1}} ({{2}}).").
const Event = "ip_banned"

// MaxJail bounds a jail's name.
const MaxJail = 64

// Ban is one ban fail2ban reports.
type Ban struct {
	IP   netip.Addr
	Jail string
}

// ParseBan checks a reported ban: ip must be an IPv4 or IPv6 address
// (IPv4-mapped IPv6 is taken as IPv4, so both spellings are one address),
// jail a fail2ban jail name (letters, digits, '.', '_', '-', at most
// MaxJail). Field errors name ip and jail.
func ParseBan(ip, jail string) (Ban, error) {
	var fields []resayil.FieldError
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil || a.Zone() != "" {
		fields = append(fields, resayil.FieldError{Field: "ip", Message: "Must be an IPv4 or IPv6 address, such as 203.0.113.7."})
	}
	if !validJail(jail) {
		fields = append(fields, resayil.FieldError{Field: "jail", Message: fmt.Sprintf("Must be a fail2ban jail name: 1 to %d letters, digits, '.', '_' or '-'.", MaxJail)})
	}
	if len(fields) > 0 {
		return Ban{}, resayil.Invalid(fields...)
	}
	return Ban{IP: a.Unmap(), Jail: jail}, nil
}

func validJail(s string) bool {
	if s == "" || len(s) > MaxJail {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Outcome says what Record did.
type Outcome struct {
	// Alerted: this ban wrote the alert.
	Alerted bool
	// AlertedAt is when the address's current alert was written: now when
	// Alerted, else the earlier alert that covers this ban.
	AlertedAt time.Time
}

// Alerts records bans as alerts.
type Alerts struct {
	db  *database.DB
	now func() time.Time
	// writeMu serialises this process's SQLite writers (database.RunTx).
	writeMu *sync.Mutex
	last    string
}

// New returns Alerts over a migrated database; now is the clock (nil:
// time.Now).
func New(db *database.DB, now func() time.Time) *Alerts {
	if now == nil {
		now = time.Now
	}
	a := &Alerts{db: db, now: now}
	if db.Dialect == migrations.MySQL {
		// LIKE on a prefix is a range of uq_notifications_dedupe; the
		// pattern's own wildcards are escaped (keyPrefix's '_').
		a.last = `SELECT id, created_at FROM notifications WHERE dedupe_key LIKE ? ORDER BY id DESC LIMIT 1`
	} else {
		// SQLite's LIKE ignores case and so no index: a byte range instead.
		a.last = `SELECT id, created_at FROM notifications WHERE dedupe_key >= ? AND dedupe_key < ? ORDER BY id DESC LIMIT 1`
		a.writeMu = &sync.Mutex{}
	}
	return a
}

// keyPrefix starts the dedupe keys of ip's alerts. '#' appears in no
// address, so no address's prefix is another's.
func keyPrefix(ip netip.Addr) string { return Event + ":" + ip.String() + "#" }

// Record writes an alert for b unless b.IP was alerted less than Window
// ago. Concurrent calls for one address write one alert.
func (a *Alerts) Record(ctx context.Context, b Ban) (Outcome, error) {
	if !b.IP.IsValid() || !validJail(b.Jail) {
		return Outcome{}, fmt.Errorf("ipban: invalid ban %v %q", b.IP, b.Jail)
	}
	ip := b.IP.Unmap()
	prefix := keyPrefix(ip)
	var out Outcome
	var key string
	err := database.RunTx(ctx, a.db.SQL, a.writeMu, func(tx *sql.Tx) error {
		out, key = Outcome{}, ""
		now := dbtime.Of(a.now())
		prevID, prevAt, found, err := a.lastAlert(ctx, tx, prefix)
		if err != nil {
			return err
		}
		if found && now.Sub(prevAt) < Window {
			out.AlertedAt = prevAt
			return nil
		}
		key = prefix + strconv.FormatInt(prevID, 10)
		inserted, err := outbox.Insert(ctx, tx, a.db.Dialect, outbox.Notification{
			DedupeKey: key, Event: Event, Audience: outbox.AudienceAdmins,
			Payload: outbox.Params{Params: []string{ip.String(), b.Jail}},
		}, now)
		if err != nil {
			return err
		}
		out = Outcome{Alerted: inserted, AlertedAt: now}
		return nil
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("record ban of %s: %w", ip, err)
	}
	if key != "" && !out.Alerted {
		// A concurrent report wrote this key first; its row is read after
		// this transaction, whose snapshot (MariaDB) predates it.
		if err := a.db.SQL.QueryRowContext(ctx, `SELECT created_at FROM notifications WHERE dedupe_key = ?`, key).Scan(&out.AlertedAt); err != nil {
			return Outcome{}, fmt.Errorf("read concurrent alert of %s: %w", ip, err)
		}
	}
	return out, nil
}

// lastAlert returns the id and time of the newest alert whose key starts
// with prefix.
func (a *Alerts) lastAlert(ctx context.Context, tx *sql.Tx, prefix string) (int64, time.Time, bool, error) {
	var args []any
	if a.db.Dialect == migrations.MySQL {
		args = []any{likeEscape(prefix) + "%"}
	} else {
		// Every key with the prefix sorts at or after it and before the
		// prefix with its last byte ('#') raised by one.
		args = []any{prefix, prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)}
	}
	var id int64
	var at time.Time
	err := tx.QueryRowContext(ctx, a.last, args...).Scan(&id, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("read last ip_banned alert: %w", err)
	}
	return id, at.UTC(), true, nil
}

// likeEscape escapes LIKE's wildcards and its escape character (MySQL's
// default, backslash).
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
