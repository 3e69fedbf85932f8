package heartbeat_test

import (
	"errors"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/heartbeat"
)

func TestPublicURL_DropsCredentialsQueryAndFragment(t *testing.T) {
	for in, want := range map[string]string{
		"http://ops:s3cret@gpu1:11434/":         "http://gpu1:11434",
		"https://gpu2:11434/ollama?token=x#f":   "https://gpu2:11434/ollama",
		"http://127.0.0.1:11434":                "http://127.0.0.1:11434",
		"not a url":                             "invalid-url",
		"http://user@[::1]:11434/base/?key=abc": "http://[::1]:11434/base",
	} {
		if got := heartbeat.PublicURL(in); got != want {
			t.Errorf("PublicURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecode_RefusesUnknownVersionsAndIncompleteSnapshots(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b, err := heartbeat.Encode(heartbeat.Snapshot{Version: 7, Gateway: "g", At: at})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := heartbeat.Decode(b); err != nil || s.Version != heartbeat.Version || s.Gateway != "g" || !s.At.Equal(at) {
		t.Fatalf("round trip: %+v, %v", s, err)
	}
	if _, err := heartbeat.Decode([]byte(`{"version":2,"gateway":"g","at":"2025-01-01T00:00:00Z"}`)); !errors.Is(err, heartbeat.ErrVersion) {
		t.Fatalf("version 2: %v", err)
	}
	for _, bad := range []string{`{"version":1,"at":"2025-01-01T00:00:00Z"}`, `{"version":1,"gateway":"g"}`, `[]`, `{`} {
		if _, err := heartbeat.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) accepted", bad)
		}
	}
}

func TestFresh(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]bool{
		0: true, -15 * time.Second: true, -15*time.Second - 1: false, 15 * time.Second: true, 15*time.Second + 1: false,
	} {
		if got := heartbeat.Fresh(heartbeat.Snapshot{At: now.Add(d)}, now, 15*time.Second); got != want {
			t.Errorf("snapshot at now%+v: fresh %v, want %v", d, got, want)
		}
	}
}

func TestFailoverOn(t *testing.T) {
	for _, tc := range []struct {
		c    heartbeat.Cloud
		want bool
	}{
		{heartbeat.Cloud{Configured: true, Healthy: true}, true},
		{heartbeat.Cloud{Configured: true, Healthy: true, BudgetKnown: true, BudgetUsed: 499, BudgetCap: 500}, true},
		{heartbeat.Cloud{Configured: true, Healthy: true, BudgetKnown: true, BudgetUsed: 500, BudgetCap: 500}, false},
		{heartbeat.Cloud{Configured: true, Healthy: true, BudgetKnown: true, BudgetCap: 0}, false},
		{heartbeat.Cloud{Configured: true}, false},
		{heartbeat.Cloud{Healthy: true}, false},
	} {
		if got := heartbeat.FailoverOn(tc.c); got != tc.want {
			t.Errorf("%+v: %v", tc.c, got)
		}
	}
}
