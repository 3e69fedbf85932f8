package walletredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

func TestSettle_AppendsUsageEvent(t *testing.T) {
	ctx := context.Background()
	w, env, clock, acct := hot(t, 10)
	s := wallet.Settlement{RequestID: "req-1", Account: acct, Cost: 14, Usage: wallet.Usage{
		ClientRequestID: "client-1\x1f|\n", APIKeyID: 99, Model: "qwen3:8b", Backend: "cloud", PromptTokens: 100,
		CompletionTokens: 250, TotalTokens: 350, Status: "client_closed", Latency: 2300 * time.Millisecond, TTFB: 180 * time.Millisecond,
	}}
	for i := 0; i < 2; i++ { // the replay must not add an event
		if _, err := w.Settle(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	events := usageOf(t, env.Client, w, acct)
	if len(events) != 1 {
		t.Fatalf("%d usage events, want 1", len(events))
	}
	got := events[0]
	want := walletredis.Usage{StreamID: got.StreamID, RequestID: "req-1", Account: acct, Credits: 10, Shortfall: 4,
		CreatedAt: clock.Now().Truncate(time.Millisecond), Usage: s.Usage}
	if got != want {
		t.Fatalf("usage event =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeUsage_RejectsUnknownVersion(t *testing.T) {
	_, err := walletredis.DecodeUsage(redis.XMessage{ID: "1-0", Values: map[string]any{"v": "3", "request_id": "r", "account_id": "1"}})
	if err == nil {
		t.Fatal("an event of format version 3 was decoded")
	}
	_, err = walletredis.DecodeUsage(redis.XMessage{ID: "1-0", Values: map[string]any{"v": "1", "request_id": "r", "account_id": "x"}})
	if err == nil {
		t.Fatal("an event with a malformed account id was decoded")
	}
}

// Version 1 events (each value in a field of its own) are still read: a
// replica not yet upgraded may have written them.
func TestDecodeUsage_Version1(t *testing.T) {
	got, err := walletredis.DecodeUsage(redis.XMessage{ID: "5-0", Values: map[string]any{
		"v": "1", "request_id": "r1", "account_id": "7", "credits": "10", "shortfall_credits": "4", "created_at_ms": "1700000000123",
		"client_request_id": "c1", "api_key_id": "99", "model": "qwen3:8b", "backend": "cloud", "status": "ok",
		"prompt_tokens": "100", "completion_tokens": "250", "total_tokens": "350", "latency_ms": "2300", "ttfb_ms": "180",
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := walletredis.Usage{StreamID: "5-0", RequestID: "r1", Account: 7, Credits: 10, Shortfall: 4,
		CreatedAt: time.UnixMilli(1700000000123).UTC(), Usage: wallet.Usage{
			ClientRequestID: "c1", APIKeyID: 99, Model: "qwen3:8b", Backend: "cloud", Status: "ok", PromptTokens: 100,
			CompletionTokens: 250, TotalTokens: 350, Latency: 2300 * time.Millisecond, TTFB: 180 * time.Millisecond}}
	if got != want {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
}

// A malformed packed field is an error, never a wrong record.
func TestDecodeUsage_MalformedPacked(t *testing.T) {
	for _, packed := range []string{
		"",            // nothing
		"1\x1f2\x1f3", // too few values
		"1\x1fx\x1f3\x1f4\x1f5\x1f6\x1fcloud\x1fok\x1fm\x1fc", // a token count that is not a number
	} {
		_, err := walletredis.DecodeUsage(redis.XMessage{ID: "1-0", Values: map[string]any{
			"v": "2", "request_id": "r", "account_id": "1", "u": packed}})
		if err == nil {
			t.Fatalf("packed %q was decoded", packed)
		}
	}
}
