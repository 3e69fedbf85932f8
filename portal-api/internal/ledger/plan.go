package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
)

// PlanRequest is an operator's `plan set`.
type PlanRequest struct {
	Email string
	// Plan is basic, pro or enterprise; resayil.TierNone ends the current
	// plan and starts none.
	Plan resayil.TierCode
	// Days is how long the plan runs from now; it must be 0 with no plan.
	Days int
	// GrantCredits also grants the plan's credits: an operator's plan set
	// grants none unless asked.
	GrantCredits bool
	Actor        string
}

// PlanResult is what SetPlan did.
type PlanResult struct {
	Owner Owner
	PlanChanged
	// GrantLive reports that the live wallet has the grant, when there is one.
	GrantLive bool
	// Notified reports that the plan_changed event was published.
	Notified bool
}

// Validate reports what is wrong with the request, as field errors.
func (r PlanRequest) Validate() error {
	switch {
	case strings.TrimSpace(r.Email) == "":
		return invalid("email", "The e-mail address is required.")
	case r.Plan != resayil.TierNone && r.Plan != resayil.TierBasic && r.Plan != resayil.TierPro && r.Plan != resayil.TierEnterprise:
		return invalid("plan", "The plan must be basic, pro, enterprise or none, got %q.", r.Plan)
	case r.Plan == resayil.TierNone && r.Days != 0:
		return invalid("days", "No plan has no duration: leave the days out.")
	case r.Plan == resayil.TierNone && r.GrantCredits:
		return invalid("grant_credits", "No plan has no credits to grant.")
	case r.Plan != resayil.TierNone && (r.Days <= 0 || r.Days > MaxDays):
		return invalid("days", "The days must be a whole number from 1 to %d, got %d.", MaxDays, r.Days)
	}
	return nil
}

// SetPlan records a subscription given by an operator (no payment): it ends
// the account's active subscription and starts the requested one now, for
// Days days (none for resayil.TierNone); with GrantCredits it grants the
// plan's credits under the reference subscription:<id>, in the same
// transaction, so the subscription and its credits exist together or not at
// all, and applies them to the live wallet once. The audit row is part of
// that transaction. After the commit it publishes a plan_changed account
// event so that gateways drop their cached plan within seconds.
//
// Errors after the commit wrap ErrNotLive (the Reconciler applies the
// grant) or ErrNotNotified (gateways see the change when their cache entry
// expires), with the result filled in: the plan is recorded, and running
// the command again would record (and grant) a second time.
func (s *Service) SetPlan(ctx context.Context, req PlanRequest) (PlanResult, error) {
	if err := req.Validate(); err != nil {
		return PlanResult{}, err
	}
	owner, err := s.owner(ctx, req.Email)
	if err != nil {
		return PlanResult{}, err
	}
	now := clock(s.now)
	change := PlanChange{Account: owner.Account, Grant: req.GrantCredits}
	if req.Plan != resayil.TierNone {
		plan, err := s.store.PlanByCode(ctx, req.Plan)
		if resayil.ErrorCode(err) == resayil.ENOTFOUND {
			return PlanResult{}, resayil.Errorf(resayil.ENOTFOUND, "The plan %q is not in the database: run `portal-api seed` first.", req.Plan)
		}
		if err != nil {
			return PlanResult{}, fmt.Errorf("find plan: %w", err)
		}
		if req.GrantCredits && plan.Credits <= 0 {
			return PlanResult{}, invalid("grant_credits", "The plan %q has no credits to grant.", req.Plan)
		}
		change.Plan = &plan
		change.StartsAt = now
		change.ExpiresAt = now.Add(time.Duration(req.Days) * 24 * time.Hour)
		change.Reason = fmt.Sprintf("operator plan set %s for %d days", plan.Code, req.Days)
	}
	audit := func(c PlanChanged) Audit {
		ended := c.Ended
		if ended == nil {
			ended = []int64{}
		}
		d := map[string]any{
			"email": owner.Email, "user_id": owner.User, "plan": string(req.Plan), "days": req.Days,
			"grant_credits": req.GrantCredits, "ended_subscriptions": ended,
		}
		if req.Plan == resayil.TierNone {
			d["plan"] = "none"
		}
		if c.Subscription != nil {
			d["subscription_id"] = c.Subscription.ID
			d["expires_at"] = c.Subscription.ExpiresAt.Format(time.RFC3339)
		}
		if c.Grant != nil {
			d["reference"], d["amount_credits"] = c.Grant.Reference, c.Grant.Amount
		}
		return Audit{Actor: req.Actor, Action: AuditPlanSet, TargetType: "account",
			TargetID: strconv.FormatInt(int64(owner.Account), 10), Details: d}
	}
	changed, err := s.store.ChangePlan(ctx, change, s.embedded(), audit, now)
	if err != nil {
		return PlanResult{}, fmt.Errorf("record plan: %w", err)
	}
	res := PlanResult{Owner: owner, PlanChanged: changed, GrantLive: changed.Grant != nil && s.embedded()}

	var errs []error
	if changed.Grant != nil && !s.embedded() {
		if _, err := applyLive(ctx, s.store, s.live, *changed.Grant, now); err != nil {
			s.log.Warn("subscription credits recorded but not live yet; the reconciler retries them", "reference", changed.Grant.Reference, "err", err)
			errs = append(errs, fmt.Errorf("%w (reference %s): %w", ErrNotLive, changed.Grant.Reference, err))
		} else {
			res.GrantLive = true
		}
	}
	// Published after the commit: a gateway that reacts re-reads the
	// subscription and must find the new one (see package accountevents).
	ev := accountevents.Event{Kind: accountevents.KindPlanChanged, Account: owner.Account}
	if changed.Subscription != nil {
		ev.Subject = "subscription:" + strconv.FormatInt(changed.Subscription.ID, 10)
	}
	if err := s.events.Publish(ctx, ev); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrNotNotified, err))
	} else {
		res.Notified = true
	}
	return res, errors.Join(errs...)
}
