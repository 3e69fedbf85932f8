package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Result is what the buyer is told on the SPA's result page.
type Result string

// Results.
const (
	ResultPaid    Result = "paid"
	ResultPending Result = "pending"
	ResultFailed  Result = "failed"
)

// Outcome is what confirming a payment found and did.
type Outcome struct {
	// Payment is the payment as it stands afterwards.
	Payment Payment
	// Applied is true for the one call that moved it to paid and credited
	// it; every other call for the same payment has it false.
	Applied bool
	// Result is what the buyer is told.
	Result Result
}

// verdict is what MyFatoorah's answer means for our payment.
type verdict int

const (
	verdictPending verdict = iota
	verdictPaid
	verdictMismatch
	verdictCanceled
)

type judgement struct {
	verdict verdict
	// reason says why (mismatch, canceled), for failure_reason and alerts.
	reason string
	// paymentID is the successful transaction's PaymentId.
	paymentID string
	// lastFailed: the newest attempt failed (a declined card); the invoice
	// is still payable.
	lastFailed bool
}

// judge compares MyFatoorah's answer with our record (invariant 3): a
// payment counts as paid only when the invoice is Paid with a successful
// transaction, and the invoice, its CustomerReference, its amount and its
// currency are all ours.
func judge(p Payment, st ProviderPayment) judgement {
	if !st.Paid {
		if st.Canceled {
			return judgement{verdict: verdictCanceled, reason: "MyFatoorah reports the invoice " + st.Status}
		}
		last, ok := st.Last()
		return judgement{verdict: verdictPending, lastFailed: ok && last.Failed}
	}
	mismatch := func(format string, args ...any) judgement {
		return judgement{verdict: verdictMismatch, reason: fmt.Sprintf(format, args...)}
	}
	tx, ok := st.Succeeded()
	switch {
	case !ok:
		return mismatch("MyFatoorah reports invoice %s %s without a successful transaction", st.InvoiceID, st.Status)
	case st.Reference != p.Reference:
		return mismatch("invoice %s carries CustomerReference %q, ours is %q", st.InvoiceID, st.Reference, p.Reference)
	case p.InvoiceID != "" && st.InvoiceID != p.InvoiceID:
		return mismatch("MyFatoorah answered for invoice %s, ours is %s", st.InvoiceID, p.InvoiceID)
	case !st.AmountKnown:
		return mismatch("MyFatoorah's answer for invoice %s has no readable amount", st.InvoiceID)
	case st.Amount != p.Amount:
		return mismatch("invoice %s was paid %s, the price is %s", st.InvoiceID, st.Amount.Decimal(), p.Amount.KWD())
	case st.Currency != p.Currency:
		return mismatch("invoice %s is in %q, ours is in %s", st.InvoiceID, st.Currency, p.Currency)
	}
	return judgement{verdict: verdictPaid, paymentID: tx.PaymentID}
}

// errGrantExists aborts an apply whose ledger reference is taken: it cannot
// happen while the payment's status guards the apply, so the whole
// transaction rolls back rather than crediting a second time.
var errGrantExists = errors.New("billing: the payment's ledger reference is already granted")

// apply is the one function that changes a payment because of what
// MyFatoorah says: st must come from GetPaymentStatus, never from a webhook
// body or a browser. See the package doc for why it applies at most once.
// It records what arrived and what it decided as a payment event (src says
// who asked), in the transaction of the change; a re-check that changes
// nothing records nothing, as it asks every few minutes for two days.
func (s *Service) apply(ctx context.Context, p Payment, st ProviderPayment, src EventSource) (Outcome, error) {
	j := judge(p, st)
	now := s.clock()
	ev := arrived(p, src, st)
	var out Outcome
	var err error
	switch j.verdict {
	case verdictPaid:
		out.Applied, err = s.applyPaid(ctx, p, j, ev, now)
	case verdictMismatch:
		err = s.applyReview(ctx, p, st, j, ev, now)
	case verdictCanceled:
		err = s.setStatus(ctx, p.ID, []PaymentStatus{StatusPending}, StatusChange{Status: StatusFailed, FailureReason: truncate(j.reason, 255), Now: now},
			ev.decided(DecisionFailed, "", StatusFailed, j.reason))
	case verdictPending:
		if now.After(p.ExpiresAt) {
			reason := "not paid within " + s.invoiceTTL.String()
			err = s.setStatus(ctx, p.ID, []PaymentStatus{StatusPending}, StatusChange{Status: StatusExpired, FailureReason: reason, Now: now},
				ev.decided(DecisionExpired, "", StatusExpired, reason))
		} else if src != SourceRecheck {
			err = s.recordEvent(ctx, ev.decided(DecisionUnchanged, p.Status, p.Status, "not paid yet"))
		}
	}
	if err != nil {
		return Outcome{}, err
	}
	if out.Payment, err = s.store.Payment(ctx, p.ID); err != nil {
		return Outcome{}, fmt.Errorf("reload payment: %w", err)
	}
	out.Result = result(out.Payment, j)
	return out, nil
}

func result(p Payment, j judgement) Result {
	switch p.Status {
	case StatusPaid:
		return ResultPaid
	case StatusFailed, StatusExpired, StatusRejected:
		return ResultFailed
	case StatusNeedsReview:
		return ResultPending
	}
	if j.lastFailed {
		return ResultFailed
	}
	return ResultPending
}

// applyPaid is the paid branch of apply: one transaction that claims the
// payment and writes everything a paid payment brings, then, after the
// commit, the live wallet and the gateways.
func (s *Service) applyPaid(ctx context.Context, p Payment, j judgement, ev PaymentEvent, now time.Time) (bool, error) {
	var c credited
	err := s.store.InTx(ctx, func(tx Tx) error {
		c = credited{} // InTx may run fn again after a deadlock
		cur, err := tx.LockPayment(ctx, p.ID)
		if err != nil {
			return err
		}
		if !slices.Contains(payable, cur.Status) {
			// Paid (or held for review) by someone else: nothing to do.
			return tx.AddPaymentEvent(ctx, ev.decided(DecisionUnchanged, cur.Status, cur.Status, "already "+string(cur.Status)), now)
		}
		c, err = s.creditLocked(ctx, tx, cur, payable, j.paymentID, now, func(details map[string]any) Audit {
			return Audit{Actor: "myfatoorah", Action: AuditPaymentPaid, TargetType: "payment",
				TargetID: strconv.FormatInt(int64(cur.ID), 10), Details: details}
		})
		if err != nil || !c.won {
			return err
		}
		return tx.AddPaymentEvent(ctx, ev.decided(DecisionCredited, cur.Status, StatusPaid, ""), now)
	})
	if err != nil {
		return false, fmt.Errorf("apply payment %d: %w", p.ID, err)
	}
	s.afterCredit(ctx, p, c)
	return c.won, nil
}

// credited is what creditLocked did.
type credited struct {
	won   bool
	grant wallet.Grant
	subID int64
}

// creditLocked moves the locked payment cur from one of from to paid and
// writes everything a paid payment brings (the subscription, the ledger
// grant, the buyer's notification and the audit row that audit builds from
// the details), in tx. The conditional update decides, not the caller's
// read: its affected-row count is 1 for exactly one caller, and every
// other gets won false having written nothing.
func (s *Service) creditLocked(ctx context.Context, tx Tx, cur Payment, from []PaymentStatus, providerPaymentID string, now time.Time,
	audit func(details map[string]any) Audit) (credited, error) {
	var c credited
	ok, err := tx.SetPaymentStatus(ctx, cur.ID, from, StatusChange{
		Status: StatusPaid, ProviderPaymentID: providerPaymentID, PaidAt: &now, Now: now})
	if err != nil || !ok {
		return c, err
	}
	c.won = true
	c.grant = wallet.Grant{Reference: PaymentReference(cur.ID), Account: cur.Account, Amount: cur.Credits, Kind: LedgerKindPayment}
	var note Notification
	paymentID := providerPaymentID
	if paymentID == "" {
		paymentID = cur.ProviderPaymentID
	}
	details := map[string]any{"reference": cur.Reference, "invoice_id": cur.InvoiceID, "provider_payment_id": paymentID,
		"amount_fils": int64(cur.Amount), "credits": int64(cur.Credits), "kind": string(cur.Kind), "ledger_reference": c.grant.Reference}
	switch cur.Kind {
	case KindSubscription:
		if err := tx.LockAccount(ctx, cur.Account); err != nil {
			return c, err
		}
		current, err := tx.ActiveSubscription(ctx, cur.Account)
		if err != nil {
			return c, err
		}
		plan, err := tx.Plan(ctx, cur.PlanID)
		if err != nil {
			return c, fmt.Errorf("plan of payment %d: %w", cur.ID, err)
		}
		term := SubscriptionTerm(current, plan, now)
		ended, err := tx.EndSubscriptions(ctx, cur.Account, now)
		if err != nil {
			return c, err
		}
		c.subID, err = tx.StartSubscription(ctx, Subscription{Account: cur.Account, Plan: plan, Status: resayil.SubscriptionActive,
			Source: resayil.SubscriptionFromPayment, PaymentID: cur.ID, StartsAt: term.StartsAt, ExpiresAt: term.ExpiresAt}, now)
		if err != nil {
			return c, err
		}
		c.grant.Reason = fmt.Sprintf("%s plan, payment %d", plan.Name, cur.ID)
		details["subscription_id"], details["ended_subscriptions"], details["renewal"] = c.subID, ended, term.Renewal
		details["expires_at"] = term.ExpiresAt.Format(time.RFC3339)
		note = Notification{DedupeKey: dedupe(EventSubscriptionConfirmed, "payment:"+strconv.FormatInt(int64(cur.ID), 10)),
			Event: EventSubscriptionConfirmed, Audience: AudienceUser, Account: cur.Account, User: cur.User,
			Params: []string{plan.Name, kuwaitDate(term.ExpiresAt), strconv.FormatInt(int64(cur.Credits), 10)},
			Data: map[string]any{"payment_id": cur.ID, "subscription_id": c.subID, "plan": string(plan.Code),
				"expires_at": term.ExpiresAt.Format(time.RFC3339)}}
		if plan.Code == resayil.TierEnterprise {
			if err := s.newEnterpriseCustomer(ctx, tx, cur, c.subID, now); err != nil {
				return c, err
			}
		}
	case KindTopup:
		c.grant.Reason = fmt.Sprintf("top-up, payment %d", cur.ID)
	default:
		return c, fmt.Errorf("payment %d has unknown kind %q", cur.ID, cur.Kind)
	}
	granted, err := tx.Grant(ctx, c.grant, s.embedded(), now)
	if err != nil {
		return c, err
	}
	if !granted {
		return c, fmt.Errorf("%w: %s", errGrantExists, c.grant.Reference)
	}
	if cur.Kind == KindTopup {
		bal, err := tx.DurableBalance(ctx, cur.Account)
		if err != nil {
			return c, err
		}
		note = Notification{DedupeKey: dedupe(EventTopupConfirmed, "payment:"+strconv.FormatInt(int64(cur.ID), 10)),
			Event: EventTopupConfirmed, Audience: AudienceUser, Account: cur.Account, User: cur.User,
			Params: []string{strconv.FormatInt(int64(cur.Credits), 10), strconv.FormatInt(int64(bal), 10)},
			Data:   map[string]any{"payment_id": cur.ID}}
	}
	if _, err := tx.Notify(ctx, note, now); err != nil {
		return c, err
	}
	return c, tx.Audit(ctx, audit(details), now)
}

// afterCredit runs after the commit of a credit: the live wallet (Redis
// mode) and the gateways' news of a plan change.
func (s *Service) afterCredit(ctx context.Context, p Payment, c credited) {
	if !c.won {
		return
	}
	s.log.Info("payment paid and credited", "payment_id", p.ID, "kind", p.Kind, "account", p.Account,
		"credits", c.grant.Amount, "reference", c.grant.Reference, "subscription_id", c.subID)
	if !s.embedded() {
		if _, err := s.live.ApplyLive(ctx, c.grant); err != nil {
			// Committed: the ledger reconciler applies it, once.
			s.log.Warn("payment credited in the ledger but not yet in the live wallet; the reconciler retries",
				"payment_id", p.ID, "reference", c.grant.Reference, "err", err)
		}
	}
	if c.subID != 0 {
		s.planChanged(ctx, p.Account, c.subID)
	}
}

// newEnterpriseCustomer alerts the admins to a user's first Enterprise
// subscription, in the payment's transaction. The dedupe key names the
// user, not the account or the subscription: a renewal, or the same user's
// later team account, is no new customer.
func (s *Service) newEnterpriseCustomer(ctx context.Context, tx Tx, p Payment, subID int64, now time.Time) error {
	who, err := tx.Contact(ctx, p.User)
	if err != nil {
		return err
	}
	_, err = tx.Notify(ctx, Notification{DedupeKey: dedupe(EventEnterpriseCustomer, "user:"+strconv.FormatInt(int64(p.User), 10)),
		Event: EventEnterpriseCustomer, Audience: AudienceAdmins, Account: p.Account, User: p.User,
		Params: []string{who.Name, who.Email},
		Data:   map[string]any{"payment_id": p.ID, "subscription_id": subID, "account_id": p.Account}}, now)
	return err
}

// planChanged tells the gateways, after the commit, that the account's
// plan changed; they drop their cached plan within seconds.
func (s *Service) planChanged(ctx context.Context, account resayil.AccountID, subID int64) {
	ev := accountevents.Event{Kind: accountevents.KindPlanChanged, Account: account}
	if subID != 0 {
		ev.Subject = "subscription:" + strconv.FormatInt(subID, 10)
	}
	if err := s.events.Publish(ctx, ev); err != nil {
		// Gateways still see it when their cache entry expires.
		s.log.Warn("plan change recorded but the gateways were not notified", "account", account, "err", err)
	}
}

// applyReview holds a payment MyFatoorah reports paid that does not match
// our record: nothing is credited, an admin looks at it.
func (s *Service) applyReview(ctx context.Context, p Payment, st ProviderPayment, j judgement, ev PaymentEvent, now time.Time) error {
	var won bool
	err := s.store.InTx(ctx, func(tx Tx) error {
		won = false
		cur, err := tx.LockPayment(ctx, p.ID)
		if err != nil {
			return err
		}
		if !slices.Contains(payable, cur.Status) {
			return tx.AddPaymentEvent(ctx, ev.decided(DecisionUnchanged, cur.Status, cur.Status, "already "+string(cur.Status)), now)
		}
		var paymentID string
		if t, ok := st.Succeeded(); ok {
			paymentID = t.PaymentID
		}
		ok, err := tx.SetPaymentStatus(ctx, p.ID, payable, StatusChange{Status: StatusNeedsReview,
			ProviderPaymentID: paymentID, FailureReason: truncate(j.reason, 255), Now: now})
		if err != nil || !ok {
			return err
		}
		won = true
		if err := tx.AddPaymentEvent(ctx, ev.decided(DecisionNeedsReview, cur.Status, StatusNeedsReview, j.reason), now); err != nil {
			return err
		}
		id := strconv.FormatInt(int64(cur.ID), 10)
		if _, err := tx.Notify(ctx, Notification{DedupeKey: dedupe(EventPaymentNeedsReview, "payment:"+id),
			Event: EventPaymentNeedsReview, Audience: AudienceAdmins, Account: cur.Account, User: cur.User,
			Params: []string{id, j.reason},
			Data:   map[string]any{"payment_id": cur.ID, "invoice_id": st.InvoiceID, "reference": cur.Reference}}, now); err != nil {
			return err
		}
		return tx.Audit(ctx, Audit{Actor: "myfatoorah", Action: AuditPaymentNeedsReview, TargetType: "payment", TargetID: id,
			Details: map[string]any{"reason": j.reason, "invoice_id": st.InvoiceID, "invoice_status": st.Status,
				"reported_amount": st.Amount.Decimal(), "reported_currency": st.Currency, "reported_reference": st.Reference}}, now)
	})
	if err != nil {
		return fmt.Errorf("hold payment %d for review: %w", p.ID, err)
	}
	if won {
		s.log.Error("payment needs review: MyFatoorah's answer does not match our record; nothing was credited",
			"payment_id", p.ID, "reason", j.reason)
	}
	return nil
}

// setStatus is a transaction of one conditional status change and its
// event (ev's StatusBefore is filled from the row). A change that does not
// happen (the payment moved on) is recorded as unchanged, except for the
// re-check job's, which records only changes.
func (s *Service) setStatus(ctx context.Context, id PaymentID, from []PaymentStatus, c StatusChange, ev PaymentEvent) error {
	return s.store.InTx(ctx, func(tx Tx) error {
		cur, err := tx.LockPayment(ctx, id)
		if err != nil {
			return err
		}
		ok, err := tx.SetPaymentStatus(ctx, id, from, c)
		if err != nil {
			return err
		}
		if !ok {
			if ev.Source == SourceRecheck {
				return nil
			}
			ev = ev.decided(DecisionUnchanged, cur.Status, cur.Status, "already "+string(cur.Status))
		} else {
			ev.StatusBefore = cur.Status
		}
		return tx.AddPaymentEvent(ctx, ev, c.Now)
	})
}
