package capacityredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacityredis"
	"github.com/resayil/portal/gateway/internal/capacity/capacitytest"
	"github.com/resayil/portal/pkg/testenv"
)

// pipelined is the store as the gateway drives it in Redis mode: Leave
// queued on a pipeline beside another command, read after Exec.
type pipelined struct {
	*capacityredis.Store
	client *redis.Client
}

func (p pipelined) Leave(ctx context.Context, hosts []capacity.Host, id string) (capacity.Outcome, error) {
	pipe := p.client.Pipeline()
	pipe.Ping(ctx)
	c := p.QueueLeave(ctx, pipe, hosts, id)
	_, _ = pipe.Exec(ctx)
	return c.Result(ctx)
}

// TestConformance_PipelinedLeave holds QueueLeave to the whole contract
// (hand-over to the next waiter included).
func TestConformance_PipelinedLeave(t *testing.T) {
	capacitytest.RunConformance(t, func(t *testing.T) capacitytest.Harness {
		env := testenv.Redis(t)
		clock := capacitytest.NewClock()
		const slot, wait = 30 * time.Second, 5 * time.Second
		return capacitytest.Harness{
			New: func(t *testing.T) capacity.Store {
				s, err := capacityredis.New(env.Client, capacityredis.Config{Prefix: env.Prefix, SlotLease: slot, WaitLease: wait, Now: clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				return pipelined{s, env.Client}
			},
			Clock: clock, SlotLease: slot, WaitLease: wait,
		}
	})
}
