package billing

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// The periodic work of billing. Package jobs schedules these; each is safe
// to run on several replicas at once, because every row is taken with a
// conditional UPDATE whose affected-row count says which replica acts:
//
//   - RecheckPayments claims a pending payment by moving its
//     status_checked_at forward (ClaimStatusCheck), so one replica asks
//     MyFatoorah about it per interval; apply is exactly-once anyway.
//   - ExpireSubscriptions ends a subscription with status active → ended;
//     only the replica that ended it announces the plan change.
//   - RemindRenewals sets reminder_sent_at when it is NULL and writes the
//     outbox row under a unique dedupe key in the same transaction.

// RecheckResult counts what one RecheckPayments pass did.
type RecheckResult struct {
	Checked, Paid, Expired, Failed int
}

// RecheckPayments asks MyFatoorah about every pending payment older than
// the recheck age (10 minutes) that no replica asked about within the
// recheck interval (5 minutes): a missed webhook and a buyer who never came
// back are credited here. A payment still pending after its invoice expired
// (48 hours) becomes expired; a late payment still counts if MyFatoorah
// reports it later.
func (s *Service) RecheckPayments(ctx context.Context) (RecheckResult, error) {
	var res RecheckResult
	var errs []error
	now := s.clock()
	seen := map[PaymentID]bool{}
	for {
		rows, err := s.store.PendingPayments(ctx, now.Add(-s.recheckAge), now.Add(-s.recheckEvery), jobBatch)
		if err != nil {
			return res, err
		}
		fresh := 0
		for _, p := range rows {
			if seen[p.ID] {
				continue
			}
			seen[p.ID], fresh = true, fresh+1
			claimed, err := s.store.ClaimStatusCheck(ctx, p.ID, now.Add(-s.recheckEvery), s.clock())
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !claimed {
				continue // another replica has it
			}
			res.Checked++
			key := StatusKey{Type: KeyInvoiceID, Value: p.InvoiceID}
			if p.InvoiceID == "" {
				key = StatusKey{Type: KeyCustomerReference, Value: p.Reference}
			}
			out, err := s.recheck(ctx, p, key)
			switch {
			case err != nil:
				res.Failed++
				errs = append(errs, err)
				s.log.Warn("payment re-check failed; the next pass retries", "payment_id", p.ID, "err", err)
			case out.Applied:
				res.Paid++
			case out.Payment.Status == StatusExpired:
				res.Expired++
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
		if len(rows) < jobBatch || fresh == 0 {
			return res, errors.Join(errs...)
		}
	}
}

func (s *Service) recheck(ctx context.Context, p Payment, key StatusKey) (Outcome, error) {
	st, err := s.gateway.PaymentStatus(ctx, key)
	if errors.Is(err, ErrUnknownInvoice) {
		// MyFatoorah never made this invoice (or forgot it): nothing was paid.
		return s.apply(ctx, p, ProviderPayment{Status: "unknown"}, SourceRecheck)
	}
	if err != nil {
		return Outcome{}, err
	}
	return s.apply(ctx, p, st, SourceRecheck)
}

// ExpireSubscriptions ends every active subscription whose expiry has
// passed, and tells the gateways: the account falls back to no plan (Basic
// limits and models). It returns how many it ended.
func (s *Service) ExpireSubscriptions(ctx context.Context) (int, error) {
	n := 0
	var errs []error
	for {
		now := s.clock()
		subs, err := s.store.DueSubscriptions(ctx, now, jobBatch)
		if err != nil {
			return n, err
		}
		ended := 0
		for _, sub := range subs {
			ok, err := s.store.EndSubscription(ctx, sub.ID, now)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				n, ended = n+1, ended+1
				s.log.Info("subscription expired; the account falls back to Basic", "subscription_id", sub.ID, "account", sub.Account, "plan", sub.Plan.Code)
				s.planChanged(ctx, sub.Account, 0)
			}
		}
		if len(subs) < jobBatch || ended == 0 {
			return n, errors.Join(errs...)
		}
	}
}

// ReminderHour is the Kuwait hour from which a day's renewal reminders go
// out: a reminder is no message at night.
const ReminderHour = 9

// RemindRenewals puts a renewal reminder into the outbox for every active
// subscription whose expiry falls, in Kuwait days, ReminderDays (3) days
// from today, from ReminderHour (09:00) Kuwait time on; or sooner, when
// the job comes to it later (a plan set for fewer days, a replica that was
// down). Nothing renews by itself (docs/architecture.md "Credits and
// holds"): MyFatoorah invoices are one-off.
//
// Once per subscription period: each purchase (or renewal) is a
// subscription row of its own, reminder_sent_at moves from NULL once, and
// the outbox row's dedupe key names the subscription
// (renewal_reminder:subscription:<id>). It returns how many reminders it
// wrote.
func (s *Service) RemindRenewals(ctx context.Context) (int, error) {
	now := s.clock()
	subs, err := s.store.RemindableSubscriptions(ctx, now, remindBefore(now, s.reminderDays), jobBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, sub := range subs {
		var wrote bool
		err := s.store.InTx(ctx, func(tx Tx) error {
			wrote = false
			ok, err := tx.MarkReminded(ctx, sub.ID, now)
			if err != nil || !ok {
				return err
			}
			id := strconv.FormatInt(sub.ID, 10)
			wrote, err = tx.Notify(ctx, Notification{DedupeKey: dedupe(EventRenewalReminder, "subscription:"+id),
				Event: EventRenewalReminder, Audience: AudienceUser, Account: sub.Account,
				Params: []string{sub.Plan.Name, kuwaitDate(sub.ExpiresAt), s.public + "/billing"},
				Data:   map[string]any{"subscription_id": sub.ID, "plan": string(sub.Plan.Code)}}, now)
			return err
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if wrote {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// remindBefore returns the instant before which an expiry is due its
// reminder at now: Kuwait midnight after the day that is days Kuwait days
// past today, where "today" turns at ReminderHour. At 08:59 Kuwait time on
// the 7th that is the start of the 10th (expiries through the 9th are
// due); at 09:00, the start of the 11th (the 10th's become due). Kuwait
// keeps no daylight saving, so a Kuwait day is always 24 hours.
func remindBefore(now time.Time, days int) time.Time {
	kw := resayil.KuwaitLocation()
	y, m, d := now.In(kw).Add(-ReminderHour * time.Hour).Date()
	return time.Date(y, m, d+days+1, 0, 0, 0, 0, kw).UTC()
}
