package cloudbudgetsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/outbox"
)

// Outbox writes what the gateway's background writer records about the
// budget, off the request path, in both modes: the admin alerts at 80 % and
// 100 % as notifications rows (sent by portal-api's notifier), and, in Redis
// mode, a mirror of each day's counter in cloud_budget_days for the admin
// pages.
//
// Alerts are once per (day, threshold) however many gateways notice them:
// the notifications row's dedupe_key (uq_notifications_dedupe) is
// "cloud_budget_80:<day>" or "cloud_budget_100:<day>", and a second insert
// is a no-op. The row is written before the day's alert80_at/alert100_at
// stamp, so a crash between the two leaves at worst a missing stamp that
// the next pass adds, never a missing alert.
type Outbox struct {
	db      *sql.DB
	dialect migrations.Dialect
	now     func() time.Time
	writeMu *sync.Mutex
	// insertDay creates a day's row unless it exists.
	insertDay string
	// mirror upserts a day's cap and raises its used count.
	mirror string
}

// OutboxConfig tunes an Outbox.
type OutboxConfig struct {
	// Now stamps the rows; nil means time.Now.
	Now func() time.Time
}

// NewOutbox returns an Outbox on db, which must be migrated.
func NewOutbox(db *database.DB, cfg OutboxConfig) *Outbox {
	o := &Outbox{db: db.SQL, dialect: db.Dialect, now: cfg.Now}
	if o.now == nil {
		o.now = time.Now
	}
	if db.Dialect == migrations.MySQL {
		o.insertDay = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE day = day`
		o.mirror = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE cap_requests = ?, used_requests = GREATEST(used_requests, ?), updated_at = ?`
	} else {
		o.writeMu = &sync.Mutex{}
		o.insertDay = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (day) DO NOTHING`
		o.mirror = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (day) DO UPDATE SET cap_requests = ?, used_requests = MAX(used_requests, ?), updated_at = ?`
	}
	return o
}

// AlertPayload is the notifications.payload of a budget alert. Params are
// the positional placeholders of the cloud_budget_80 template ({{1}} used,
// {{2}} cap) and of cloud_budget_100 ({{1}} cap).
type AlertPayload struct {
	Day     cloudbudget.Day `json:"day"`
	Used    int64           `json:"used"`
	Cap     int64           `json:"cap"`
	Percent int64           `json:"percent"`
	Params  []string        `json:"params"`
}

// RecordAlert records the alert th for st's day once, and reports whether
// this call inserted it. st must have reached th.
func (o *Outbox) RecordAlert(ctx context.Context, st cloudbudget.State, th cloudbudget.Threshold) (bool, error) {
	if !st.Reached(th) {
		return false, fmt.Errorf("cloudbudgetsql: day %s at %d of %d has not reached %d%%", st.Day, st.Used, st.Cap, th)
	}
	p := AlertPayload{Day: st.Day, Used: st.Used, Cap: st.Cap, Percent: st.Percent(),
		Params: []string{strconv.FormatInt(st.Used, 10), strconv.FormatInt(st.Cap, 10)}}
	if th == cloudbudget.Alert100 {
		p.Params = []string{strconv.FormatInt(st.Cap, 10)}
	}
	column := "alert80_at"
	if th == cloudbudget.Alert100 {
		column = "alert100_at"
	}
	var inserted bool
	err := database.RunTx(ctx, o.db, o.writeMu, func(tx *sql.Tx) error {
		now := dbtime.Of(o.now())
		var err error
		inserted, err = outbox.Insert(ctx, tx, o.dialect, outbox.Notification{DedupeKey: th.DedupeKey(st.Day), Event: th.Event(),
			Audience: outbox.AudienceAdmins, Payload: p}, now)
		if err != nil {
			return fmt.Errorf("insert alert: %w", err)
		}
		if _, err := tx.ExecContext(ctx, o.insertDay, st.Day, st.Cap, st.Used, now); err != nil {
			return fmt.Errorf("insert day: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE cloud_budget_days SET `+column+` = ? WHERE day = ? AND `+column+` IS NULL`, now, st.Day)
		return err
	})
	if err != nil {
		return false, cloudbudget.Unavailable("record alert", err)
	}
	return inserted, nil
}

// Mirror copies a Redis-mode day into cloud_budget_days: the cap as it is,
// the used count only upwards (a late mirror never lowers it).
func (o *Outbox) Mirror(ctx context.Context, st cloudbudget.State) error {
	err := database.RunTx(ctx, o.db, o.writeMu, func(tx *sql.Tx) error {
		now := dbtime.Of(o.now())
		_, err := tx.ExecContext(ctx, o.mirror, st.Day, st.Cap, st.Used, now, st.Cap, st.Used, now)
		return err
	})
	if err != nil {
		return cloudbudget.Unavailable("mirror", err)
	}
	return nil
}

// Alerts returns when day's alerts were recorded; a threshold missing from
// the map has not been.
func (o *Outbox) Alerts(ctx context.Context, day cloudbudget.Day) (map[cloudbudget.Threshold]time.Time, error) {
	var a80, a100 sql.NullTime
	err := o.db.QueryRowContext(ctx, `SELECT alert80_at, alert100_at FROM cloud_budget_days WHERE day = ?`, day).Scan(&a80, &a100)
	out := map[cloudbudget.Threshold]time.Time{}
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, cloudbudget.Unavailable("read alerts", err)
	}
	if a80.Valid {
		out[cloudbudget.Alert80] = a80.Time
	}
	if a100.Valid {
		out[cloudbudget.Alert100] = a100.Time
	}
	return out, nil
}
