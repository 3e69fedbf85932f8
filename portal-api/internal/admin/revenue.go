package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
)

// Revenue granularities.
const (
	GranularityDay   = "day"
	GranularityMonth = "month"
)

// The longest revenue reports: a year of days (a leap year's), three
// years of months.
const (
	MaxRevenueDays   = 366
	MaxRevenueMonths = 36
)

// Layouts of the revenue report's from and to: a Kuwait date by day, a
// Kuwait month by month.
const (
	dayLayout   = "2006-01-02"
	monthLayout = "2006-01"
)

// RevenueParams is the revenue report's query as a client sends it.
type RevenueParams struct {
	From, To, Granularity string
}

// RevenuePeriod is one day or month of the report.
type RevenuePeriod struct {
	// Label is the Kuwait date (2026-01-31) or month (2026-01).
	Label string
	RevenueTotals
}

// RevenueReport is the revenue by paid time over whole Kuwait days or
// months, from and to included.
type RevenueReport struct {
	Granularity string
	From, To    string
	Periods     []RevenuePeriod
	Totals      RevenueTotals
}

// Revenue validates p and sums the payments paid in each Kuwait day or
// month of its range, by tier and for top-ups. A late payment (paid after
// it had failed or expired) counts when it was paid. By default: the last
// 30 days by day, the last 12 months by month, today's included.
func (r *Reports) Revenue(ctx context.Context, p RevenueParams) (RevenueReport, error) {
	starts, err := p.periods(dbtime.Of(r.now()))
	if err != nil {
		return RevenueReport{}, err
	}
	layout := dayLayout
	if p.Granularity == GranularityMonth {
		layout = monthLayout
	}
	kw := resayil.KuwaitLocation()
	n := len(starts) - 1
	rep := RevenueReport{Granularity: p.Granularity, From: starts[0].In(kw).Format(layout), To: starts[n-1].In(kw).Format(layout),
		Periods: make([]RevenuePeriod, n), Totals: newTotals(starts[0], starts[n])}
	for i := range n {
		rep.Periods[i] = RevenuePeriod{Label: starts[i].In(kw).Format(layout), RevenueTotals: newTotals(starts[i], starts[i+1])}
	}
	rows, err := r.store.PaidPayments(ctx, starts[0], starts[n])
	if err != nil {
		return RevenueReport{}, fmt.Errorf("read paid payments: %w", err)
	}
	i := 0
	for _, row := range rows {
		for i < n-1 && !row.PaidAt.Before(starts[i+1]) {
			i++
		}
		rep.Periods[i].add(row.Kind, row.Tier, row.Amount, 1)
		rep.Totals.add(row.Kind, row.Tier, row.Amount, 1)
	}
	return rep, nil
}

// periods validates p (filling its defaults) and returns the UTC starts of
// its periods followed by the end of the last.
func (p *RevenueParams) periods(now time.Time) ([]time.Time, error) {
	var fields []resayil.FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, resayil.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	kw := resayil.KuwaitLocation()
	local := now.In(kw)
	switch p.Granularity {
	case "":
		p.Granularity = GranularityDay
	case GranularityDay, GranularityMonth:
	default:
		bad("granularity", "The granularity must be day or month, got %q.", p.Granularity)
		return nil, resayil.Invalid(fields...)
	}
	layout, example, unit := dayLayout, "2026-01-31", "date"
	step := func(t time.Time, k int) time.Time { return t.AddDate(0, 0, k) }
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, kw)
	defaultSpan, maxSpan := 30, MaxRevenueDays
	if p.Granularity == GranularityMonth {
		layout, example, unit = monthLayout, "2026-01", "month"
		step = func(t time.Time, k int) time.Time { return t.AddDate(0, k, 0) }
		today = time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, kw)
		defaultSpan, maxSpan = 12, MaxRevenueMonths
	}
	parse := func(field, v string) (time.Time, bool) {
		t, err := time.ParseInLocation(layout, v, kw)
		if err != nil || t.Format(layout) != v {
			bad(field, "The %s must be a Kuwait %s such as %s, got %q.", field, unit, example, v)
			return time.Time{}, false
		}
		return t, true
	}
	to, from := today, time.Time{}
	okTo, okFrom := true, true
	if p.From != "" {
		from, okFrom = parse("from", p.From)
	}
	if p.To != "" {
		to, okTo = parse("to", p.To)
	}
	if p.From == "" {
		from = step(to, -(defaultSpan - 1))
	}
	if okTo && okFrom {
		span := 0
		for t := from; !t.After(to) && span <= maxSpan; t = step(t, 1) {
			span++
		}
		switch {
		case to.Before(from):
			bad("to", "The to %s must not be before the from %s.", unit, unit)
		case span > maxSpan:
			bad("to", "The range may span at most %d %ss by %s.", maxSpan, p.Granularity, p.Granularity)
		}
	}
	if len(fields) > 0 {
		return nil, resayil.Invalid(fields...)
	}
	var starts []time.Time
	for t := from; !t.After(to); t = step(t, 1) {
		starts = append(starts, t.UTC())
	}
	return append(starts, step(to, 1).UTC()), nil
}
