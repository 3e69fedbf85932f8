// Package usage answers what an account used: totals per hour or Kuwait
// day, per model, and the receipt of each request, newest first.
//
// Totals read the usage_hourly rollup (one row per account, UTC hour,
// model, backend and key, written with the records it sums); receipts read
// usage_records. Kuwait is UTC+3 all year, so a Kuwait day is 24 whole UTC
// hours and day totals are sums of hours.
//
// Requests refused before the upstream (401, 402, 403, 429) are neither
// billed nor recorded, so they appear nowhere here.
package usage

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Granularity is the width of a summary bucket.
type Granularity string

// The granularities: UTC hours, or Kuwait days.
const (
	Hour Granularity = "hour"
	Day  Granularity = "day"
)

// Limits of one question.
const (
	// MaxHourSpan and MaxDaySpan bound a summary's range by granularity.
	MaxHourSpan = 31 * 24 * time.Hour
	MaxDaySpan  = 366 * 24 * time.Hour
	// MaxExportSpan bounds a CSV export's range.
	MaxExportSpan = 366 * 24 * time.Hour
	// DefaultSpan is the range without from (ending at to, default now);
	// DefaultHourSpan the same for granularity=hour.
	DefaultSpan     = 30 * 24 * time.Hour
	DefaultHourSpan = 24 * time.Hour
	// MaxPage and DefaultPage bound a page of receipts.
	MaxPage     = 100
	DefaultPage = 50
)

// Backends a request can be served by.
const (
	BackendLocal = "local"
	BackendCloud = "cloud"
)

// Totals is what a set of requests used. Local and Cloud split Requests
// and Credits by backend; Errors counts requests whose status is not ok.
type Totals struct {
	Requests         int64
	PromptTokens     int64
	CompletionTokens int64
	Credits          resayil.Credits
	LocalRequests    int64
	CloudRequests    int64
	LocalCredits     resayil.Credits
	CloudCredits     resayil.Credits
	Errors           int64
}

// Add adds o to t.
func (t *Totals) Add(o Totals) {
	t.Requests += o.Requests
	t.PromptTokens += o.PromptTokens
	t.CompletionTokens += o.CompletionTokens
	t.Credits += o.Credits
	t.LocalRequests += o.LocalRequests
	t.CloudRequests += o.CloudRequests
	t.LocalCredits += o.LocalCredits
	t.CloudCredits += o.CloudCredits
	t.Errors += o.Errors
}

// HourRow is one UTC hour, summed over models, backends and keys.
type HourRow struct {
	Hour time.Time
	Totals
}

// Bucket is one hour or day of a summary.
type Bucket struct {
	Start time.Time
	Totals
}

// Summary is usage in buckets over [From, To).
type Summary struct {
	From, To    time.Time
	Granularity Granularity
	Buckets     []Bucket
	Totals      Totals
}

// ModelRow is one model's usage over a range.
type ModelRow struct {
	Model string
	Totals
}

// Models is usage per model over [From, To), most credits first.
type Models struct {
	From, To time.Time
	Models   []ModelRow
	Totals   Totals
}

// Receipt is one recorded request.
type Receipt struct {
	ID              int64
	CreatedAt       time.Time
	RequestID       string
	ClientRequestID string
	// APIKeyID is 0 for none; KeyName is "" when the key is unknown.
	APIKeyID         int64
	KeyName          string
	Model            string
	Backend          string
	PromptTokens     int64
	CompletionTokens int64
	// HeldCredits were held at admission (0: unknown, recorded before
	// holds were kept); Credits were charged; Shortfall is what the
	// balance could not pay.
	HeldCredits resayil.Credits
	Credits     resayil.Credits
	Shortfall   resayil.Credits
	Status      string
	LatencyMS   int64
	TTFBMS      int64
}

// Filter narrows receipts. Zero fields do not filter; From and To (both
// or neither) bound created_at to [From, To).
type Filter struct {
	Model    string
	APIKeyID int64
	Backend  string
	Status   string
	From, To time.Time
}

// Cursor is where a page of receipts continues: after the receipt with
// this time and id, newest first.
type Cursor struct {
	At time.Time
	ID int64
}

// IsZero reports whether c is "from the newest".
func (c Cursor) IsZero() bool { return c.ID == 0 }

// Encode returns the opaque form of c handed to clients.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("r1.%d.%d", c.At.UnixNano(), c.ID)))
}

// ParseCursor reads Encode's form.
func ParseCursor(s string) (Cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 || parts[0] != "r1" {
		return Cursor{}, false
	}
	ns, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return Cursor{}, false
	}
	return Cursor{At: time.Unix(0, ns).UTC(), ID: id}, true
}

// Page is one page of receipts; Next is zero on the last.
type Page struct {
	Receipts []Receipt
	Next     Cursor
}

// Store reads usage. Times are UTC; from and to of the hourly reads are
// whole hours.
type Store interface {
	// UsageHours sums the account's rollup per hour and backend over
	// [from, to).
	UsageHours(ctx context.Context, account resayil.AccountID, from, to time.Time) ([]HourRow, error)
	// UsageModels sums the account's rollup per model over [from, to).
	UsageModels(ctx context.Context, account resayil.AccountID, from, to time.Time) ([]ModelRow, error)
	// Receipts returns up to limit receipts of the account matching f,
	// newest first (created_at, then id), after the cursor unless it is
	// zero.
	Receipts(ctx context.Context, account resayil.AccountID, f Filter, after Cursor, limit int) ([]Receipt, error)
}
