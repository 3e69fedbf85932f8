package loadgen_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/bench/loadgen"
)

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := loadgen.Summarize(d)
	if s.N != 100 || s.P50 != 50*time.Millisecond || s.P99 != 99*time.Millisecond || s.Max != 100*time.Millisecond || s.Mean != 50500*time.Microsecond {
		t.Fatalf("%+v", s)
	}
	if (loadgen.Summarize(nil) != loadgen.Summary{}) {
		t.Fatal("empty")
	}
}

func TestRun_StreamAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte("data: {}\n\n"))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte("data: [DONE]\n\n"))
	}))
	defer srv.Close()
	cfg := loadgen.Config{URL: srv.URL, Body: []byte(`{}`), Header: map[string]string{"Authorization": "Bearer k"},
		Stream: true, Concurrency: 4, Duration: 200 * time.Millisecond, MaxRequests: 50}
	res, err := loadgen.Run(cfg)
	if err != nil || res.Errors != 0 || res.Requests != 50 || res.TTFB.N != 50 || res.TTFB.P50 > res.Latency.P50 {
		t.Fatalf("%+v %v", res, err)
	}
	cfg.Header = nil
	res, err = loadgen.Run(cfg)
	if err != nil || res.Requests != 0 || res.Errors == 0 || !strings.Contains(res.FirstError, "401") {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRun_RefusesNonLoopback(t *testing.T) {
	if _, err := loadgen.Run(loadgen.Config{URL: "http://example.com/", Concurrency: 1, Duration: time.Second}); err == nil {
		t.Fatal("want an error")
	}
}
