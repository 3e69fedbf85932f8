package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/usage/usageseed"
)

// BenchmarkUsageRoutes measures the usage routes through the real Fiber
// app (internal/app) on MariaDB, with 1,000,000 usage records of one
// account over 90 days, and reports each route's p95. It is a benchmark,
// not a timed test; run it on its own:
//
//	go test -run '^$' -bench BenchmarkUsageRoutes -benchtime 400x ./portal-api/internal/api/
func BenchmarkUsageRoutes(b *testing.B) {
	h := harness(b, testenv.MariaDBBackend)
	c, u := h.SignUp(b, "usage-bench")
	createKeyTB(b, c, "bench key")
	now := h.Clock.Now()
	start := time.Now()
	if err := usageseed.Seed(context.Background(), h.DB, usageseed.Options{Account: u.AccountID, End: now, KeyIDs: []int64{0, 1}}); err != nil {
		b.Fatal(err)
	}
	if _, err := h.DB.SQL.Exec("ANALYZE TABLE usage_records, usage_hourly"); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded 1,000,000 records in %s", time.Since(start).Round(time.Second))

	month := url.Values{"from": {now.Add(-30 * 24 * time.Hour).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}}
	routes := []struct{ name, path string }{
		{"summary-30-days-by-day", "/api/v1/usage/summary?" + month.Encode() + "&granularity=day"},
		{"summary-24-hours-by-hour", "/api/v1/usage/summary?granularity=hour&" + url.Values{"from": {now.Add(-24 * time.Hour).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}}.Encode()},
		{"models-30-days", "/api/v1/usage/models?" + month.Encode()},
		{"receipts-page-1", "/api/v1/usage/requests"},
		{"receipts-page-500", "/api/v1/usage/requests?cursor=" + url.QueryEscape(pageCursor(b, h, c.Token, 499))},
	}
	for _, r := range routes {
		b.Run(r.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				status, _ := benchGet(b, h, c.Token, r.path)
				lat = append(lat, time.Since(t0))
				if status != http.StatusOK {
					b.Fatalf("%s: %d", r.path, status)
				}
			}
			slices.Sort(lat)
			p95 := lat[(len(lat)*95+99)/100-1]
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		})
	}
}

func createKeyTB(tb testing.TB, c *apitest.Client, name string) {
	tb.Helper()
	c.Do(tb, post("/api/v1/api-keys", map[string]any{"name": name})).Want(tb, http.StatusCreated)
}

// pageCursor follows n pages of receipts and returns the last next_cursor.
func pageCursor(tb testing.TB, h *apitest.Harness, token string, n int) string {
	tb.Helper()
	path := "/api/v1/usage/requests"
	var cursor string
	for range n {
		status, body := benchGet(tb, h, token, path)
		var p receiptPage
		if status != http.StatusOK || json.Unmarshal(body, &p) != nil || p.NextCursor == nil {
			tb.Fatalf("paging: %d %s", status, body)
		}
		cursor = *p.NextCursor
		path = "/api/v1/usage/requests?cursor=" + url.QueryEscape(cursor)
	}
	return cursor
}

func benchGet(tb testing.TB, h *apitest.Harness, token, path string) (int, []byte) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := h.App.HTTP.Test(req, -1)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(fmt.Errorf("read: %w", err))
	}
	return res.StatusCode, body
}
