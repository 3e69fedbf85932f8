package keyauth

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/resayil/portal/pkg/resayil"
)

// Plans tells the Authenticator what the Basic plan allows right now: an
// account without an active subscription, or whose cached subscription has
// expired, gets Basic's limits and models (docs/architecture.md "Credits
// and holds").
type Plans interface {
	Basic() resayil.Plan
}

// PlanLoader reads every active plan. keystore.Store implements it.
type PlanLoader interface {
	// Plans returns the active plans ordered from cheapest up. Any error
	// means the source failed; the caller keeps what it had.
	Plans(ctx context.Context) ([]resayil.Plan, error)
}

// DefaultBasicPlan is the seeded Basic tier (portal-api's seed): what
// PlanSet answers before its first load, or when the database holds no
// active "basic" plan, so that a missing row never means a zero rate limit.
func DefaultBasicPlan() resayil.Plan {
	return resayil.Plan{
		Code: resayil.TierBasic, Name: "Basic", RateLimitPerMinute: 10,
		Classes: []resayil.ModelClass{resayil.ClassSmall, resayil.ClassMedium}, SortOrder: 1,
	}
}

// PlanSet is an in-process copy of the active plans, read without locks on
// the request path and replaced whole by Reload (at start, and when a plan
// definition changes). It implements Plans.
type PlanSet struct {
	loader PlanLoader
	cur    atomic.Pointer[planSnapshot]
}

type planSnapshot struct {
	all   []resayil.Plan
	basic resayil.Plan
}

var _ Plans = (*PlanSet)(nil)

// NewPlanSet returns a PlanSet that knows only DefaultBasicPlan until the
// first successful Reload.
func NewPlanSet(loader PlanLoader) *PlanSet {
	s := &PlanSet{loader: loader}
	s.cur.Store(&planSnapshot{basic: DefaultBasicPlan()})
	return s
}

// Reload reads the plans again. On error the previous plans stay in use.
func (s *PlanSet) Reload(ctx context.Context) error {
	plans, err := s.loader.Plans(ctx)
	if err != nil {
		return fmt.Errorf("load plans: %w", err)
	}
	snap := &planSnapshot{all: slices.Clone(plans), basic: DefaultBasicPlan()}
	for _, p := range snap.all {
		if p.Code == resayil.TierBasic {
			snap.basic = p
		}
	}
	s.cur.Store(snap)
	return nil
}

// Basic returns the Basic plan. The returned Classes slice is shared:
// callers must not modify it.
func (s *PlanSet) Basic() resayil.Plan { return s.cur.Load().basic }

// Plan returns the active plan with the given code.
func (s *PlanSet) Plan(code resayil.TierCode) (resayil.Plan, bool) {
	for _, p := range s.cur.Load().all {
		if p.Code == code {
			return p, true
		}
	}
	return resayil.Plan{}, false
}

// All returns the active plans from cheapest up (empty before the first
// successful Reload).
func (s *PlanSet) All() []resayil.Plan { return slices.Clone(s.cur.Load().all) }
