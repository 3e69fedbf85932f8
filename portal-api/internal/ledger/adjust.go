package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// AuditCreditsAdjust is the audit action of an admin's adjustment through
// the portal API.
const AuditCreditsAdjust = "credits.adjust"

// MaxAdjust bounds one adjustment: a typo of extra digits fails instead of
// granting a billion credits.
const MaxAdjust resayil.Credits = 100_000_000

// adjustLease is how long the live credits of a debit stay reserved while
// its ledger row commits; the reconciler withdraws them within seconds if
// this process stops in between.
const adjustLease = 10 * time.Minute

// AdjustRequest is an admin's change of an account's credits, up or down.
type AdjustRequest struct {
	// Account is the account that changes. User, instead, names a user
	// whose personal account changes (the older users route).
	Account resayil.AccountID
	User    resayil.UserID
	// Delta is positive to grant, negative to take away; never zero.
	Delta resayil.Credits
	// Reason is required (ReasonProblem); the audit row keeps it whole,
	// the ledger row its first bytes (LedgerReason).
	Reason string
	// ActorUserID is the admin; IP their address.
	ActorUserID resayil.UserID
	IP          string
}

// AdjustResult is what Adjust did.
type AdjustResult struct {
	Owner     Owner
	Reference string
	Delta     resayil.Credits
	// Live reports that the live wallet has the change (always in embedded
	// mode).
	Live bool
}

// Validate reports every field that is wrong, as field errors ("amount"
// and "reason").
func (r AdjustRequest) Validate() error {
	var fields []resayil.FieldError
	switch {
	case r.Delta == 0:
		fields = append(fields, resayil.FieldError{Field: "amount", Message: "The amount must be a whole number of credits other than zero."})
	case r.Delta > MaxAdjust || r.Delta < -MaxAdjust:
		fields = append(fields, resayil.FieldError{Field: "amount", Message: fmt.Sprintf("The amount must be at most %d credits either way.", MaxAdjust)})
	}
	if p := ReasonProblem(r.Reason); p != "" {
		fields = append(fields, resayil.FieldError{Field: "reason", Message: p})
	}
	if len(fields) > 0 {
		return resayil.Invalid(fields...)
	}
	return nil
}

// target finds the account a request names: by account id, or by the
// user whose personal account it is.
func (s *Service) target(ctx context.Context, account resayil.AccountID, user resayil.UserID) (Owner, error) {
	var o Owner
	var err error
	if account != 0 {
		o, err = s.store.AccountOwner(ctx, account)
	} else {
		o, err = s.store.AccountByUserID(ctx, user)
	}
	if resayil.ErrorCode(err) == resayil.ENOTFOUND {
		if account != 0 {
			return Owner{}, resayil.Errorf(resayil.ENOTFOUND, "The account does not exist.")
		}
		return Owner{}, resayil.Errorf(resayil.ENOTFOUND, "The user does not exist.")
	}
	if err != nil {
		return Owner{}, fmt.Errorf("find account: %w", err)
	}
	return o, nil
}

// ownerDetails names the account's user in an audit row's details.
func ownerDetails(o Owner, d map[string]any) map[string]any {
	if o.User != 0 {
		d["user_id"], d["email"] = o.User, o.Email
	}
	return d
}

// Adjust changes an account's credits by hand (the admin API): a positive
// delta is a grant with reference admin:<uuid>, exactly as Grant; a
// negative one is a debit under such a reference: a credit_ledger row
// with the negative amount, so that every balance still equals the sum of
// its ledger rows minus its usage (Verify), written in one transaction
// with the durable balance's decrease, which only happens when the
// available balance covers it. The balance never goes below zero: a debit
// larger than what is available is refused with a *BelowZeroError
// (ECONFLICT, naming the credits available) and changes nothing.
//
// In Redis mode the debit first reserves the credits in the live wallet
// (Reserve with the reference as request id, so no request can spend them
// meanwhile; refused there, nothing changes), then commits the ledger row,
// then withdraws them live by the reference (walletredis.Withdraw consumes
// the hold), then marks the row live. If the live step fails, the
// reconciler withdraws the row later, once; until then Verify and a cold
// load count it as not yet live. The audit row ({before, after, reason}:
// the durable balance before and after, read in the transaction) is part
// of the transaction, and so is the balance alert the debit may raise
// (credits_low below a fifth of the period's credits, credits_exhausted
// at zero), as a request's settlement would raise it.
func (s *Service) Adjust(ctx context.Context, req AdjustRequest) (AdjustResult, error) {
	if err := req.Validate(); err != nil {
		return AdjustResult{}, err
	}
	owner, err := s.target(ctx, req.Account, req.User)
	if err != nil {
		return AdjustResult{}, err
	}
	reason := strings.TrimSpace(req.Reason)
	ref := NewAdminReference()
	res := AdjustResult{Owner: owner, Reference: ref, Delta: req.Delta, Live: s.embedded()}
	audit := Audit{
		ActorUserID: req.ActorUserID, IP: req.IP, Action: AuditCreditsAdjust,
		TargetType: "account", TargetID: strconv.FormatInt(int64(owner.Account), 10),
		Details: ownerDetails(owner, map[string]any{"reference": ref, "delta_credits": req.Delta, "reason": reason,
			"before": map[string]any{}, "after": map[string]any{}}),
		Balance: true,
	}
	now := clock(s.now)
	g := wallet.Grant{Reference: ref, Account: owner.Account, Amount: req.Delta, Kind: KindAdmin, Reason: LedgerReason(reason), ActorUserID: req.ActorUserID}
	if req.Delta > 0 {
		applied, err := s.store.RecordGrant(ctx, g, s.embedded(), audit, now)
		if err != nil {
			return AdjustResult{}, fmt.Errorf("record grant: %w", err)
		}
		if !applied {
			return AdjustResult{}, resayil.Errorf(resayil.ECONFLICT, "The ledger reference %s is already in use.", ref)
		}
	} else {
		if err := s.debit(ctx, g, audit, now); err != nil {
			return AdjustResult{}, err
		}
	}
	if s.embedded() {
		return res, nil
	}
	if _, err := applyLive(ctx, s.store, s.live, g, now); err != nil {
		s.log.Warn("adjustment recorded but not live yet; the reconciler retries it", "reference", ref, "err", err)
		return res, fmt.Errorf("%w (reference %s): %w", ErrNotLive, ref, err)
	}
	res.Live = true
	return res, nil
}

// debit commits a negative adjustment (g.Amount < 0), reserving the live
// credits first in Redis mode.
func (s *Service) debit(ctx context.Context, g wallet.Grant, audit Audit, now time.Time) error {
	amount := -g.Amount
	if !s.embedded() {
		if _, err := s.live.Reserve(ctx, wallet.Hold{RequestID: g.Reference, Account: g.Account, Amount: amount, MinAmount: amount, Lease: adjustLease}); err != nil {
			return belowZero(err, amount)
		}
	}
	d := g
	d.Amount = amount
	err := s.store.RecordDebit(ctx, d, s.embedded(), audit, s.topUpURL, now)
	if err != nil && !s.embedded() {
		if _, rerr := s.live.Release(ctx, g.Account, g.Reference); rerr != nil {
			s.log.Warn("could not release the hold of a refused debit; it expires by itself", "reference", g.Reference, "err", rerr)
		}
	}
	if err != nil {
		return belowZero(err, amount)
	}
	return nil
}

// belowZero turns a refused debit into the answer an admin reads.
func belowZero(err error, amount resayil.Credits) error {
	if avail, ok := wallet.AvailableCredits(err); ok {
		return &BelowZeroError{Available: avail, Requested: amount}
	}
	var re *resayil.Error
	if errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("record debit: %w", err)
}
