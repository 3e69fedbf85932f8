package app_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/testenv"
)

// TestE2E_UsageRecordsTheHoldAndTheHourlyRollup: through the real gateway,
// in both modes and on both databases, each usage record keeps the credits
// held at admission, and after a mix of requests (two models, streaming or
// not, an answer in the wrong shape, a stream the upstream cut) usage_hourly
// is exactly the sums of the records, errors included.
func TestE2E_UsageRecordsTheHoldAndTheHourlyRollup(t *testing.T) {
	eachModeAndDatabase(t, func(t *testing.T, g *gatewaytest.Gateway) {
		u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
		g.Fund(t, u.Account, 1000)

		// The hold of llama3.2:3b (1 credit per 1k tokens) for this
		// prompt: ceil((prompt estimate + max_tokens) / 1000).
		body := func(model string, maxTokens int, stream bool) string {
			return fmt.Sprintf(`{"model":%q,"max_tokens":%d,"stream":%v,"messages":[{"role":"user","content":"hello fake world"}]}`,
				model, maxTokens, stream)
		}
		type sent struct {
			id     string
			held   int64 // 0: not checked (another model's rate)
			status int
		}
		var all []sent
		send := func(b string, held int64, status int) {
			t.Helper()
			a := postBody(t, g, u.Key, b)
			if a.status != status {
				t.Fatalf("%s: %s, want %d", b, a, status)
			}
			all = append(all, sent{id: a.header.Get("X-Request-Id"), held: held, status: status})
		}
		send(body("llama3.2:3b", 3000, false), 4, 200)
		send(body("llama3.2:3b", 1000, true), 2, 200)
		send(body("llama3.2:3b", 5000, false), 6, 200)
		send(body("qwen2.5:7b", 2000, false), 0, 200)
		send(body("qwen2.5:7b", 2000, true), 0, 200)
		g.Ollama.AnswerInOtherShape(1)
		send(body("llama3.2:3b", 3000, false), 4, 502)
		g.Ollama.FailMidStream(1, 2)
		send(body("llama3.2:3b", 1000, true), 2, 200)

		if n := g.WaitUsage(t, u.Account, len(all)); n != len(all) {
			t.Fatalf("%d usage records, want %d", n, len(all))
		}
		for _, s := range all {
			var held, credits int64
			var status string
			if err := g.DB.SQL.QueryRow(`SELECT held_credits, credits, status FROM usage_records WHERE request_id = ?`, s.id).
				Scan(&held, &credits, &status); err != nil {
				t.Fatalf("usage record %s: %v", s.id, err)
			}
			if held <= 0 || credits > held || (s.held != 0 && held != s.held) {
				t.Errorf("usage record %s (%s): held_credits %d, credits %d; want the hold %d", s.id, status, held, credits, s.held)
			}
		}
		rows := testenv.CheckHourly(t, g.DB.SQL)
		var requests, errs int64
		models := map[string]bool{}
		for _, r := range rows {
			requests += r.Requests
			errs += r.Errors
			models[r.Model] = true
		}
		if requests != int64(len(all)) || errs != 2 || len(models) != 2 {
			t.Errorf("usage_hourly: %d requests, %d errors, models %v; want %d requests, 2 errors, two models: %+v",
				requests, errs, models, len(all), rows)
		}
	})
}

// TestE2E_HourlyRollupEqualsRecordsUnderConcurrentLoad: concurrent requests
// of several accounts and keys, two models, streaming or not, some failing
// mid-stream, in both modes on both databases; once every record is
// written, usage_hourly is exactly their sums.
func TestE2E_HourlyRollupEqualsRecordsUnderConcurrentLoad(t *testing.T) {
	eachModeAndDatabase(t, func(t *testing.T, g *gatewaytest.Gateway) {
		liftRateLimit(t, g)
		const users, perUser = 4, 12
		keys := make([]gatewaytest.User, users)
		for i := range keys {
			keys[i] = gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, keys[i].Account, 10_000)
		}
		// Injected failures go to whichever requests come next: a
		// stream ends mid-way (billed, status upstream_error), a
		// non-streaming call gets a 502 (not billed, no record).
		g.Ollama.FailMidStream(6, 2)
		billed := make([]atomic.Int32, users)
		errs := make(chan error, users*perUser)
		var wg sync.WaitGroup
		for i, u := range keys {
			for j := range perUser {
				wg.Go(func() {
					model := []string{"llama3.2:3b", "qwen2.5:7b"}[(i+j)%2]
					a, err := tryBody(g, u.Key, fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":%v,"messages":[{"role":"user","content":"hello fake world %d"}]}`, model, j%3 == 0, j))
					switch {
					case err != nil:
						errs <- err
					case a.status == 200:
						billed[i].Add(1)
					case a.status != 502:
						errs <- fmt.Errorf("%s", a)
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		total := 0
		for i, u := range keys {
			want := int(billed[i].Load())
			if n := g.WaitUsage(t, u.Account, want); n != want {
				t.Fatalf("account %d: %d usage records, want %d", u.Account, n, want)
			}
			total += want
		}
		if total < users*perUser-6 {
			t.Fatalf("only %d of %d requests billed", total, users*perUser)
		}
		rows := testenv.CheckHourly(t, g.DB.SQL)
		var requests int64
		for _, r := range rows {
			requests += r.Requests
		}
		if requests != int64(total) {
			t.Fatalf("usage_hourly counts %d requests, the records %d", requests, total)
		}
	})
}

// eachModeAndDatabase runs test on a fresh gateway in each mode on each
// database, in parallel.
func eachModeAndDatabase(t *testing.T, test func(t *testing.T, g *gatewaytest.Gateway)) {
	for _, m := range modes {
		for _, b := range testenv.Backends {
			t.Run(m.name+"/"+string(b), func(t *testing.T) {
				t.Parallel()
				o := m.opts
				o.Backend = b
				test(t, gatewaytest.Start(t, o))
			})
		}
	}
}
