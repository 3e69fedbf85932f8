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

// PlanRequest is a change of an account's plan: an operator's `plan set`
// (by e-mail) or an admin's through the portal API (by account id). Both
// go through SetPlan.
type PlanRequest struct {
	// Email names the user whose personal account changes; Account, when
	// set, names the account instead (a team's too).
	Email   string
	Account resayil.AccountID
	// Plan is basic, pro or enterprise; resayil.TierNone ends the current
	// plan and starts none.
	Plan resayil.TierCode
	// Days is how long the plan runs from now; it must be 0 with no plan,
	// and with PlanDuration, which runs it for the plan's own duration.
	Days         int
	PlanDuration bool
	// GrantCredits also grants the plan's credits: an operator's plan set
	// grants none unless asked.
	GrantCredits bool
	// Reason says why, for the audit log (ReasonProblem when given); an
	// empty one is replaced by a description of the change.
	Reason string
	// Actor names the operator's tool ("cli"); ActorUserID is the admin
	// acting through the API, and IP their address.
	Actor       string
	ActorUserID resayil.UserID
	IP          string
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
	case r.Account == 0 && strings.TrimSpace(r.Email) == "":
		return invalid("email", "The e-mail address is required.")
	case r.Plan != resayil.TierNone && r.Plan != resayil.TierBasic && r.Plan != resayil.TierPro && r.Plan != resayil.TierEnterprise:
		return invalid("plan", "The plan must be basic, pro, enterprise or none, got %q.", r.Plan)
	case r.Plan == resayil.TierNone && r.Days != 0:
		return invalid("days", "No plan has no duration: leave the days out.")
	case r.Plan == resayil.TierNone && r.GrantCredits:
		return invalid("grant_credits", "No plan has no credits to grant.")
	case r.PlanDuration && r.Days != 0:
		return invalid("days", "Give the days, or run the plan for its own duration, not both.")
	case r.Plan != resayil.TierNone && !r.PlanDuration && (r.Days <= 0 || r.Days > MaxDays):
		return invalid("days", "The days must be a whole number from 1 to %d, got %d.", MaxDays, r.Days)
	case r.Reason != "" && ReasonProblem(r.Reason) != "":
		return invalid("reason", "%s", ReasonProblem(r.Reason))
	}
	return nil
}

// subscriptionDetails is a subscription as an audit row's before or after.
func subscriptionDetails(sub *Subscription, balance resayil.Credits) map[string]any {
	d := map[string]any{"plan": "none", "subscription_id": nil, "expires_at": nil, "balance_credits": balance}
	if sub != nil {
		d["plan"], d["subscription_id"], d["expires_at"] = string(sub.Plan.Code), sub.ID, sub.ExpiresAt.Format(time.RFC3339)
	}
	return d
}

// SetPlan records a subscription given by an operator or an admin (no
// payment): it ends the account's active subscription and starts the
// requested one now, for Days days (or the plan's own duration; none for
// resayil.TierNone); with GrantCredits it grants the plan's credits under
// the reference subscription:<id>, in the same transaction, so the
// subscription and its credits exist together or not at all, and applies
// them to the live wallet once. The audit row, whose details hold
// {before, after, reason} (the running plan and the durable balance, as
// read in the transaction), is part of that transaction. After the commit
// it publishes a plan_changed account event so that gateways drop their
// cached plan within seconds.
//
// Errors after the commit wrap ErrNotLive (the Reconciler applies the
// grant) or ErrNotNotified (gateways see the change when their cache entry
// expires), with the result filled in: the plan is recorded, and running
// the command again would record (and grant) a second time.
func (s *Service) SetPlan(ctx context.Context, req PlanRequest) (PlanResult, error) {
	if err := req.Validate(); err != nil {
		return PlanResult{}, err
	}
	var owner Owner
	var err error
	if req.Account != 0 {
		owner, err = s.target(ctx, req.Account, 0)
	} else {
		owner, err = s.owner(ctx, req.Email)
	}
	if err != nil {
		return PlanResult{}, err
	}
	now := clock(s.now)
	change := PlanChange{Account: owner.Account, Grant: req.GrantCredits}
	days := req.Days
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
		if req.PlanDuration {
			days = min(max(plan.DurationDays, 1), MaxDays)
		}
		change.Plan = &plan
		change.StartsAt = now
		change.ExpiresAt = now.Add(time.Duration(days) * 24 * time.Hour)
		change.Reason = fmt.Sprintf("operator plan set %s for %d days", plan.Code, days)
	}
	reason := strings.TrimSpace(req.Reason)
	switch {
	case reason != "":
		change.Reason = LedgerReason(reason)
	case change.Plan != nil:
		reason = change.Reason
	default:
		reason = "operator plan set none"
	}
	audit := func(c PlanChanged) Audit {
		ended := c.Ended
		if ended == nil {
			ended = []int64{}
		}
		var granted resayil.Credits
		if c.Grant != nil {
			granted = c.Grant.Amount
		}
		d := ownerDetails(owner, map[string]any{
			"plan": planName(req.Plan), "days": days, "grant_credits": req.GrantCredits, "ended_subscriptions": ended,
			"reason": reason,
			"before": subscriptionDetails(c.Previous, c.Balance-granted),
			"after":  subscriptionDetails(c.Subscription, c.Balance),
		})
		if c.Subscription != nil {
			d["subscription_id"] = c.Subscription.ID
			d["expires_at"] = c.Subscription.ExpiresAt.Format(time.RFC3339)
		}
		if c.Grant != nil {
			d["reference"], d["amount_credits"] = c.Grant.Reference, c.Grant.Amount
		}
		return Audit{Actor: req.Actor, ActorUserID: req.ActorUserID, IP: req.IP, Action: AuditPlanSet, TargetType: "account",
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

func planName(p resayil.TierCode) string {
	if p == resayil.TierNone {
		return "none"
	}
	return string(p)
}
