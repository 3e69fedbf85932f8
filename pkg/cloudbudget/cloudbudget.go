// Package cloudbudget counts the platform's cloud requests per day against a
// daily cap (500 cloud requests a day by default, days in Asia/Kuwait time;
// ADR 4): the gateway takes one request of today's budget before it sends
// anything to the cloud, and portal-api's `cloud-budget set --today N` raises
// or lowers today's cap. Both use the same Store.
//
// Two implementations sit behind Store and pass one conformance suite
// (cloudbudgettest), concurrency included:
//
//   - cloudbudgetredis: a Redis hash per day, one Lua script per operation,
//     for deployments with Redis (many gateway replicas);
//   - cloudbudgetsql: a cloud_budget_days row per day and a conditional
//     UPDATE, for the embedded (SQLite) mode.
//
// Both keep a day's counter across restarts. A day without a record starts
// with the store's default cap, which the first write freezes into the day's
// record: every replica and the operator command then see the same cap.
//
// Why exact: "check that there is room" and "count one more" are one atomic
// step in both stores (a Lua script; UPDATE ... WHERE used_requests <
// cap_requests), so 600 concurrent cloud-bound requests against a cap of 500
// take exactly 500.
package cloudbudget

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Day is a calendar date in Asia/Kuwait time, formatted 2006-01-02.
type Day string

// DayLayout is the format of a Day.
const DayLayout = "2006-01-02"

// DayOf returns the Kuwait date of t: the budget's day turns at midnight
// Asia/Kuwait (21:00 UTC).
func DayOf(t time.Time) Day {
	return Day(t.In(resayil.KuwaitLocation()).Format(DayLayout))
}

// Valid reports whether d is a well-formed date.
func (d Day) Valid() bool {
	_, err := time.Parse(DayLayout, string(d))
	return err == nil && len(d) == len(DayLayout)
}

// Start returns the instant d begins in Kuwait.
func (d Day) Start() time.Time {
	t, _ := time.ParseInLocation(DayLayout, string(d), resayil.KuwaitLocation())
	return t
}

// State is one day's budget.
type State struct {
	Day Day
	// Cap is the number of cloud requests allowed that day; 0 turns the
	// cloud off.
	Cap int64
	// Used is the number taken so far (never above Cap through Take; a cap
	// lowered below it leaves Used as it was).
	Used int64
}

// Room reports whether another cloud request may be taken.
func (s State) Room() bool { return s.Used < s.Cap }

// Remaining is what is left of the day's budget (never negative).
func (s State) Remaining() int64 { return max(s.Cap-s.Used, 0) }

// Percent is Used as a whole percentage of Cap, rounded down (100 when the
// cap is 0).
func (s State) Percent() int64 {
	if s.Cap <= 0 {
		return 100
	}
	return s.Used * 100 / s.Cap
}

// Threshold is an alert level, a percentage of the day's cap.
type Threshold int

// The admin alerts (ADR 4): at 80 % and at 100 % of the day's budget.
const (
	Alert80  Threshold = 80
	Alert100 Threshold = 100
)

// Thresholds lists the alert levels in increasing order.
var Thresholds = []Threshold{Alert80, Alert100}

// Reached reports whether s has reached th: Used*100 >= Cap*th with a
// positive cap (a cap of 0 is the cloud switched off, not an exhausted
// budget worth an alert).
func (s State) Reached(th Threshold) bool {
	return s.Cap > 0 && s.Used*100 >= s.Cap*int64(th)
}

// Event is the notification event of an alert (the names of the
// notification_templates rows: cloud_budget_80, cloud_budget_100).
func (th Threshold) Event() string { return fmt.Sprintf("cloud_budget_%d", int(th)) }

// DedupeKey is the notification outbox's unique key of the alert for day:
// one alert per (day, threshold), however many gateways notice it.
func (th Threshold) DedupeKey(d Day) string { return th.Event() + ":" + string(d) }

// MaxCap bounds a day's cap (it is stored in an INT column).
const MaxCap = 1_000_000_000

// Store counts cloud requests per day. Every method is safe for concurrent
// use across goroutines and processes sharing the store. An invalid day or
// cap fails with resayil.EINVALID; a failing Redis or database with
// resayil.EUNAVAILABLE (the gateway then treats the cloud as unavailable,
// never as free).
type Store interface {
	// Take counts one cloud request on day if the day has room (Used < Cap)
	// and reports whether it did; without room nothing changes. The State
	// is the day's after the call. Check and count are one atomic step.
	Take(ctx context.Context, day Day) (State, bool, error)

	// Refund gives back one request taken on day that never reached the
	// cloud (the connection was refused). Used never goes below zero.
	Refund(ctx context.Context, day Day) (State, error)

	// Get returns day's state without changing it; a day without a record
	// has the default cap and nothing used.
	Get(ctx context.Context, day Day) (State, error)

	// SetCap sets day's cap, raising or lowering it; Used is unchanged (a
	// cap below Used leaves the day exhausted). It creates the day's record
	// if there is none.
	SetCap(ctx context.Context, day Day, limit int64) (State, error)
}

// CheckDay validates a day for a Store.
func CheckDay(d Day) error {
	if !d.Valid() {
		return resayil.Invalid(resayil.FieldError{Field: "day", Message: "The day must be a date such as 2026-01-31."})
	}
	return nil
}

// CheckCap validates a cap for a Store.
func CheckCap(limit int64) error {
	if limit < 0 || limit > MaxCap {
		return resayil.Invalid(resayil.FieldError{Field: "cap", Message: fmt.Sprintf("The daily cloud budget must be a whole number from 0 to %d.", MaxCap)})
	}
	return nil
}

// Unavailable wraps a store failure with the code the gateway maps to
// "cloud unavailable".
func Unavailable(op string, err error) error {
	return fmt.Errorf("cloudbudget: %s: %w: %w", op,
		resayil.Errorf(resayil.EUNAVAILABLE, "The cloud budget is temporarily unavailable."), err)
}
