package keyauth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/resayil"
)

type planList struct {
	plans []resayil.Plan
	err   error
}

func (l *planList) Plans(context.Context) ([]resayil.Plan, error) { return l.plans, l.err }

func TestPlanSet(t *testing.T) {
	edited := basicPlan
	edited.RateLimitPerMinute = 15
	src := &planList{plans: []resayil.Plan{edited, proPlan}}
	s := keyauth.NewPlanSet(src)
	if b := s.Basic(); b.RateLimitPerMinute != 10 || len(s.All()) != 0 {
		t.Fatalf("before Reload: Basic %+v, All %v; want the default Basic only", b, s.All())
	}
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b := s.Basic(); b.RateLimitPerMinute != 15 {
		t.Errorf("Basic = %+v, want the loaded one", b)
	}
	if p, ok := s.Plan(resayil.TierPro); !ok || p.RateLimitPerMinute != 30 {
		t.Errorf("Plan(pro) = %+v, %v", p, ok)
	}
	if _, ok := s.Plan(resayil.TierEnterprise); ok {
		t.Error("Plan(enterprise) found, but it is not active")
	}

	src.err = errors.New("database down")
	if err := s.Reload(context.Background()); err == nil {
		t.Error("Reload hid the error")
	}
	if b := s.Basic(); b.RateLimitPerMinute != 15 {
		t.Errorf("after a failed Reload Basic = %+v, want the previous one", b)
	}

	src.err, src.plans = nil, []resayil.Plan{proPlan}
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b := s.Basic(); b.Code != resayil.TierBasic || b.RateLimitPerMinute != 10 {
		t.Errorf("without a basic row Basic = %+v, want the default", b)
	}
}
