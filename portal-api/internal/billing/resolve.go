package billing

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/resayil/portal/pkg/resayil"
)

// Resolutions of a payment that needs review.
const (
	ResolveCredit = "credit"
	ResolveReject = "reject"
)

// MaxResolveReason bounds a resolution's reason (the audit and event
// columns).
const MaxResolveReason = 255

// Resolution is an admin's decision about a payment in needs_review.
type Resolution struct {
	Payment PaymentID
	// Action is ResolveCredit or ResolveReject.
	Action string
	Reason string
	// ActorUserID is the admin; IP their address.
	ActorUserID resayil.UserID
	IP          string
}

// ErrPaymentNotFound answers a resolution of an unknown payment.
var ErrPaymentNotFound = resayil.Errorf(resayil.ENOTFOUND, "The payment does not exist.")

// Resolve credits or rejects a payment waiting for review, with the
// admin's reason, in one transaction with its audit row and its payment
// event. Credit is apply's credit path (subscription, ledger grant,
// notification), so the payment is credited exactly once: of any number
// of concurrent resolutions, the conditional update from needs_review
// lets one through and the others find the payment settled and get 409.
// Reject makes it rejected, a final status: nothing is credited and
// MyFatoorah's later answers change nothing.
func (s *Service) Resolve(ctx context.Context, r Resolution) (Payment, error) {
	r.Reason = strings.TrimSpace(r.Reason)
	var fields []resayil.FieldError
	if r.Action != ResolveCredit && r.Action != ResolveReject {
		fields = append(fields, resayil.FieldError{Field: "action", Message: "The action must be credit or reject."})
	}
	switch {
	case r.Reason == "":
		fields = append(fields, resayil.FieldError{Field: "reason", Message: "Give the reason for this decision."})
	case utf8.RuneCountInString(r.Reason) > MaxResolveReason || len(r.Reason) > 4*MaxResolveReason:
		fields = append(fields, resayil.FieldError{Field: "reason", Message: fmt.Sprintf("The reason must be at most %d characters.", MaxResolveReason)})
	}
	if len(fields) > 0 {
		return Payment{}, resayil.Invalid(fields...)
	}
	now := s.clock()
	var (
		c      credited
		before Payment
	)
	err := s.store.InTx(ctx, func(tx Tx) error {
		c = credited{}
		cur, err := tx.LockPayment(ctx, r.Payment)
		if resayil.ErrorCode(err) == resayil.ENOTFOUND {
			return ErrPaymentNotFound
		}
		if err != nil {
			return err
		}
		before = cur
		if cur.Status != StatusNeedsReview {
			return notInReview(cur)
		}
		id := strconv.FormatInt(int64(cur.ID), 10)
		ev := PaymentEvent{Payment: cur.ID, Source: SourceAdmin, InvoiceID: cur.InvoiceID, ProviderPaymentID: cur.ProviderPaymentID,
			StatusBefore: cur.Status, Detail: truncate(r.Reason, 255), ActorUserID: r.ActorUserID}
		audit := func(after PaymentStatus, extra map[string]any) Audit {
			return Audit{ActorUserID: r.ActorUserID, IP: r.IP, Action: AuditPaymentResolve, TargetType: "payment", TargetID: id,
				Details: map[string]any{"action": r.Action, "reason": r.Reason,
					"before": map[string]any{"status": string(cur.Status), "failure_reason": cur.FailureReason},
					"after":  map[string]any{"status": string(after), "credited": extra}}}
		}
		if r.Action == ResolveReject {
			ok, err := tx.SetPaymentStatus(ctx, cur.ID, []PaymentStatus{StatusNeedsReview}, StatusChange{Status: StatusRejected, Now: now})
			if err != nil {
				return err
			}
			if !ok {
				return notInReview(cur)
			}
			ev.Decision, ev.StatusAfter = DecisionRejected, StatusRejected
			if err := tx.AddPaymentEvent(ctx, ev, now); err != nil {
				return err
			}
			return tx.Audit(ctx, audit(StatusRejected, nil), now)
		}
		c, err = s.creditLocked(ctx, tx, cur, []PaymentStatus{StatusNeedsReview}, "", now, func(details map[string]any) Audit {
			return audit(StatusPaid, details)
		})
		if err != nil {
			return err
		}
		if !c.won {
			return notInReview(cur)
		}
		ev.Decision, ev.StatusAfter = DecisionCredited, StatusPaid
		return tx.AddPaymentEvent(ctx, ev, now)
	})
	if err != nil {
		return Payment{}, err
	}
	s.afterCredit(ctx, before, c)
	p, err := s.store.Payment(ctx, r.Payment)
	if err != nil {
		return Payment{}, fmt.Errorf("reload payment: %w", err)
	}
	return p, nil
}

func notInReview(p Payment) error {
	return resayil.Errorf(resayil.ECONFLICT, "The payment is %s, not waiting for review: nothing was changed.", p.Status)
}
