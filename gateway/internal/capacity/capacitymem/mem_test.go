package capacitymem_test

import (
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacitymem"
	"github.com/resayil/portal/gateway/internal/capacity/capacitytest"
)

func TestConformance(t *testing.T) {
	capacitytest.RunConformance(t, func(t *testing.T) capacitytest.Harness {
		clock := capacitytest.NewClock()
		const slot, wait = 30 * time.Second, 5 * time.Second
		s := capacitymem.New(capacitymem.Config{SlotLease: slot, WaitLease: wait, Now: clock.Now})
		return capacitytest.Harness{
			New:   func(*testing.T) capacity.Store { return s },
			Clock: clock, SlotLease: slot, WaitLease: wait,
		}
	})
}
