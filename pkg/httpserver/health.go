package httpserver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// Check is one readiness probe. A Required check that fails makes the
// service unready (503); an optional one only makes it "degraded", for
// dependencies the binary can work without for a while.
type Check struct {
	Name     string
	Required bool
	Run      func(ctx context.Context) error
}

// CheckResult is one check's outcome in the /readyz body.
type CheckResult struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Readiness is the /readyz body.
type Readiness struct {
	Status string                 `json:"status"`
	Checks map[string]CheckResult `json:"checks"`
}

// Evaluate runs every check concurrently, each bounded by timeout.
func Evaluate(ctx context.Context, checks []Check, timeout time.Duration) (Readiness, bool) {
	r := Readiness{Status: "ok", Checks: make(map[string]CheckResult, len(checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ready := true
	for _, ch := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := ch.Run(cctx)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				r.Checks[ch.Name] = CheckResult{Status: "ok"}
				return
			}
			if ch.Required {
				r.Checks[ch.Name] = CheckResult{Status: "fail", Error: err.Error()}
				ready = false
				return
			}
			r.Checks[ch.Name] = CheckResult{Status: "degraded", Error: err.Error()}
			if r.Status == "ok" {
				r.Status = "degraded"
			}
		}()
	}
	wg.Wait()
	if !ready {
		r.Status = "fail"
	}
	return r, ready
}

// MountHealth adds GET /healthz (the process is alive) and GET /readyz (its
// dependencies answer) to app.
func MountHealth(app *fiber.App, checks []Check) {
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		r, ok := Evaluate(context.Background(), checks, 2*time.Second)
		if !ok {
			c.Status(fiber.StatusServiceUnavailable)
		}
		return c.JSON(r)
	})
}

// RedisCheck is the readiness probe of a binary that needs Redis: a
// required check named "redis" that pings it. Its error names no address,
// since /readyz may be reachable by more than the operators.
func RedisCheck(client redis.Cmdable) Check {
	return Check{Name: "redis", Required: true, Run: func(ctx context.Context) error {
		if err := client.Ping(ctx).Err(); err != nil {
			return errors.New("redis unreachable")
		}
		return nil
	}}
}
