package usage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Service answers the usage questions of one account at a time. Callers
// have checked that the caller may read the account.
type Service struct {
	store Store
	now   func() time.Time
	// kuwait is the zone of day buckets.
	kuwait *time.Location
}

// New returns a Service on store; now is the clock of default ranges.
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now, kuwait: resayil.KuwaitLocation()}
}

// RangeQuery is a range as a client sends it: RFC 3339 texts, either may
// be empty (to defaults to now, from to a default span before to).
type RangeQuery struct {
	From, To string
}

// SummaryQuery asks for a summary; an empty Granularity is day.
type SummaryQuery struct {
	RangeQuery
	Granularity string
}

// ReceiptQuery asks for a page of receipts. Limit 0 is DefaultPage.
type ReceiptQuery struct {
	Filter
	Cursor string
	Limit  int
}

// Summary returns the account's usage in hour or Kuwait-day buckets, every
// bucket of the range present (empty ones zero). The range is widened to
// whole buckets: from rounded down, to up.
func (s *Service) Summary(ctx context.Context, account resayil.AccountID, q SummaryQuery) (Summary, error) {
	g := Granularity(q.Granularity)
	var fields []resayil.FieldError
	if g == "" {
		g = Day
	}
	if g != Hour && g != Day {
		fields = append(fields, resayil.FieldError{Field: "granularity", Message: "Must be one of: hour, day."})
		g = Day
	}
	span, limit := DefaultSpan, MaxDaySpan
	if g == Hour {
		span, limit = DefaultHourSpan, MaxHourSpan
	}
	from, to, rangeFields := s.parseRange(q.RangeQuery, span, limit, g)
	if fields = append(fields, rangeFields...); len(fields) > 0 {
		return Summary{}, resayil.Invalid(fields...)
	}
	from, to = s.floor(from, g), s.ceil(to, g)
	rows, err := s.store.UsageHours(ctx, account, from, to)
	if err != nil {
		return Summary{}, err
	}
	out := Summary{From: from, To: to, Granularity: g}
	index := map[time.Time]int{}
	for t := from; t.Before(to); t = s.next(t, g) {
		index[t] = len(out.Buckets)
		out.Buckets = append(out.Buckets, Bucket{Start: t})
	}
	for _, r := range rows {
		i, ok := index[s.floor(r.Hour.UTC(), g)]
		if !ok {
			continue // outside the range: the store's bounds are the buckets'
		}
		out.Buckets[i].Add(r.Totals)
		out.Totals.Add(r.Totals)
	}
	return out, nil
}

// Models returns the account's usage per model over whole UTC hours, most
// credits first (then by name).
func (s *Service) Models(ctx context.Context, account resayil.AccountID, q RangeQuery) (Models, error) {
	from, to, fields := s.parseRange(q, DefaultSpan, MaxDaySpan, Hour)
	if len(fields) > 0 {
		return Models{}, resayil.Invalid(fields...)
	}
	from, to = s.floor(from, Hour), s.ceil(to, Hour)
	rows, err := s.store.UsageModels(ctx, account, from, to)
	if err != nil {
		return Models{}, err
	}
	slices.SortFunc(rows, func(a, b ModelRow) int {
		if a.Credits != b.Credits {
			if a.Credits > b.Credits {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Model, b.Model)
	})
	out := Models{From: from, To: to, Models: rows}
	for _, r := range rows {
		out.Totals.Add(r.Totals)
	}
	return out, nil
}

// Receipts returns one page of the account's receipts, newest first.
// Pages do not shift while new requests are recorded: a cursor continues
// after the last receipt of its page, and newer ones come before the
// first page.
func (s *Service) Receipts(ctx context.Context, account resayil.AccountID, q ReceiptQuery) (Page, error) {
	fields := filterProblems(q.Filter)
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultPage
	case limit < 1 || limit > MaxPage:
		fields = append(fields, resayil.FieldError{Field: "limit", Message: fmt.Sprintf("Must be a whole number from 1 to %d.", MaxPage)})
	}
	var after Cursor
	if q.Cursor != "" {
		c, ok := ParseCursor(q.Cursor)
		if !ok {
			fields = append(fields, resayil.FieldError{Field: "cursor", Message: "Must be a next_cursor from a previous page."})
		}
		after = c
	}
	if len(fields) > 0 {
		return Page{}, resayil.Invalid(fields...)
	}
	f := q.Filter
	f.From, f.To = time.Time{}, time.Time{}
	rows, err := s.store.Receipts(ctx, account, f, after, limit+1)
	if err != nil {
		return Page{}, err
	}
	var out Page
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		out.Next = Cursor{At: last.CreatedAt, ID: last.ID}
	}
	out.Receipts = rows
	return out, nil
}

// ExportBatch is the number of receipts an export reads per query.
const ExportBatch = 1000

// Export checks an export's range and filters and returns what Batch
// reads, batch after batch, until a batch comes back short.
func (s *Service) Export(q RangeQuery, f Filter) (Filter, error) {
	from, to, fields := s.parseRange(q, DefaultSpan, MaxExportSpan, "")
	fields = append(filterProblems(f), fields...)
	if len(fields) > 0 {
		return Filter{}, resayil.Invalid(fields...)
	}
	f.From, f.To = from, to
	return f, nil
}

// Batch returns the export's next ExportBatch receipts after the cursor
// (zero: from the newest) and the cursor after them, zero when there are
// no more.
func (s *Service) Batch(ctx context.Context, account resayil.AccountID, f Filter, after Cursor) ([]Receipt, Cursor, error) {
	rows, err := s.store.Receipts(ctx, account, f, after, ExportBatch)
	if err != nil || len(rows) < ExportBatch {
		return rows, Cursor{}, err
	}
	last := rows[len(rows)-1]
	return rows, Cursor{At: last.CreatedAt, ID: last.ID}, nil
}

func filterProblems(f Filter) []resayil.FieldError {
	var fields []resayil.FieldError
	if len(f.Model) > 128 {
		fields = append(fields, resayil.FieldError{Field: "model", Message: "Must be at most 128 characters."})
	}
	if f.APIKeyID < 0 {
		fields = append(fields, resayil.FieldError{Field: "api_key_id", Message: "Must be a key id."})
	}
	if f.Backend != "" && f.Backend != BackendLocal && f.Backend != BackendCloud {
		fields = append(fields, resayil.FieldError{Field: "backend", Message: "Must be one of: local, cloud."})
	}
	if len(f.Status) > 32 {
		fields = append(fields, resayil.FieldError{Field: "status", Message: "Must be at most 32 characters."})
	}
	return fields
}

// parseRange reads q: to defaults to now, from to span before to; the
// range must run forward and be at most limit long.
func (s *Service) parseRange(q RangeQuery, span, limit time.Duration, g Granularity) (from, to time.Time, fields []resayil.FieldError) {
	to, okTo := parseTime(q.To, s.now().UTC(), "to", "2026-01-31T21:00:00Z", &fields)
	from, okFrom := parseTime(q.From, to.Add(-span), "from", "2026-01-01T21:00:00Z", &fields)
	if !okFrom || !okTo {
		return from, to, fields
	}
	if !from.Before(to) {
		return from, to, append(fields, resayil.FieldError{Field: "to", Message: "Must be after from."})
	}
	if to.Sub(from) > limit {
		msg := fmt.Sprintf("Must be at most %d days before to.", int(limit/(24*time.Hour)))
		if g == Hour {
			msg += " Use granularity=day for longer ranges."
		}
		fields = append(fields, resayil.FieldError{Field: "from", Message: msg})
	}
	return from, to, fields
}

// parseTime reads an optional RFC 3339 time: def when it is absent; a
// field error naming field (with an example) when it does not parse.
func parseTime(v string, def time.Time, field, example string, fields *[]resayil.FieldError) (time.Time, bool) {
	if v == "" {
		return def, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		*fields = append(*fields, resayil.FieldError{Field: field, Message: "Must be a date-time in RFC 3339, such as " + example + "."})
		return t, false
	}
	return t.UTC(), true
}

// floor is the start of t's bucket: its UTC hour, or its Kuwait day.
func (s *Service) floor(t time.Time, g Granularity) time.Time {
	if g == Day {
		k := t.In(s.kuwait)
		return time.Date(k.Year(), k.Month(), k.Day(), 0, 0, 0, 0, s.kuwait).UTC()
	}
	return t.UTC().Truncate(time.Hour)
}

// ceil is the first bucket start at or after t.
func (s *Service) ceil(t time.Time, g Granularity) time.Time {
	f := s.floor(t, g)
	if f.Equal(t) {
		return f
	}
	return s.next(f, g)
}

// next is the start of the bucket after the one starting at t.
func (s *Service) next(t time.Time, g Granularity) time.Time {
	if g == Day {
		k := t.In(s.kuwait)
		return time.Date(k.Year(), k.Month(), k.Day()+1, 0, 0, 0, 0, s.kuwait).UTC()
	}
	return t.Add(time.Hour)
}
