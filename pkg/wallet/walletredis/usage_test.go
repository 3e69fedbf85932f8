package walletredis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

func TestSettle_AppendsUsageEvent(t *testing.T) {
	ctx := context.Background()
	w, env, clock, acct := hot(t, 10)
	s := wallet.Settlement{RequestID: "req-1", Account: acct, Cost: 14, Usage: wallet.Usage{
		ClientRequestID: "client-1\x1f|\n", APIKeyID: 99, Model: "qwen3:8b", Backend: "cloud", PromptTokens: 100,
		CompletionTokens: 250, TotalTokens: 350, Status: "client_closed", Latency: 2300 * time.Millisecond, TTFB: 180 * time.Millisecond,
		Held: 12,
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

// A cost the balance pays in full: the event carries the cost as given and
// no shortfall.
func TestSettle_AppendsUsageEventPaidInFull(t *testing.T) {
	ctx := context.Background()
	w, env, clock, acct := hot(t, 100)
	s := wallet.Settlement{RequestID: "req-2", Account: acct, Cost: 14, Usage: wallet.Usage{
		APIKeyID: 3, Model: "llama3.2:3b", Backend: "local", PromptTokens: 7, CompletionTokens: 9, TotalTokens: 16, Status: "ok"}}
	res, err := w.Settle(ctx, s)
	if err != nil || res.Charged != 14 || res.Shortfall != 0 || res.Balance != 86 {
		t.Fatalf("Settle = %+v, %v; want 14 charged, none short, 86 left", res, err)
	}
	if again, err := w.Settle(ctx, s); err != nil || !again.Replayed || again.Charged != 14 || again.Shortfall != 0 {
		t.Fatalf("replayed Settle = %+v, %v; want the first charge", again, err)
	}
	events := usageOf(t, env.Client, w, acct)
	want := walletredis.Usage{RequestID: "req-2", Account: acct, Credits: 14, CreatedAt: clock.Now().Truncate(time.Millisecond), Usage: s.Usage}
	if len(events) != 1 {
		t.Fatalf("%d usage events, want 1", len(events))
	}
	if want.StreamID = events[0].StreamID; events[0] != want {
		t.Fatalf("usage event =\n%+v\nwant\n%+v", events[0], want)
	}
}

func TestDecodeUsage_RejectsUnknownVersion(t *testing.T) {
	_, err := walletredis.DecodeUsage(redis.XMessage{ID: "1-0", Values: map[string]any{
		"e": "6\x1fr\x1f1\x1f5\x1f0\x1f1700000000000\x1f\x1f1\x1f10\x1f20\x1f30\x1f100\x1f10\x1f9\x1flocal\x1fok\x1fm\x1f"}})
	if err == nil {
		t.Fatal("an event of format version 6 was decoded")
	}
	if _, err := walletredis.DecodeEvent(redis.XMessage{ID: "1-0", Values: map[string]any{"a": "2\x1f7\x1fexhausted:1:0"}}); err == nil {
		t.Fatal("an alert event of format version 2 was decoded")
	}
	_, err = walletredis.DecodeUsage(redis.XMessage{ID: "1-0", Values: map[string]any{"v": "3", "request_id": "r", "account_id": "1"}})
	if err == nil {
		t.Fatal("an entry without the event field was decoded")
	}
}

// An event of format 4 carries the credits held at admission; one of
// format 3 (written by a gateway not yet upgraded) decodes the same with
// the hold unknown (0).
func TestDecodeUsage_Formats3And4(t *testing.T) {
	want := walletredis.Usage{StreamID: "5-0", RequestID: "r1", Account: 7, Credits: 10, Shortfall: 4,
		CreatedAt: time.UnixMilli(1700000000123).UTC(), Usage: wallet.Usage{
			ClientRequestID: "c1\x1f|", APIKeyID: 99, Model: "qwen3:8b", Backend: "cloud", Status: "ok", PromptTokens: 100,
			CompletionTokens: 250, TotalTokens: 350, Latency: 2300 * time.Millisecond, TTFB: 180 * time.Millisecond, Held: 640}}
	got, err := walletredis.DecodeUsage(redis.XMessage{ID: "5-0", Values: map[string]any{
		"e": "4\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1f99\x1f100\x1f250\x1f350\x1f2300\x1f180\x1f640\x1fcloud\x1fok\x1fqwen3:8b\x1fc1\x1f|"}})
	if err != nil || got != want {
		t.Fatalf("format 4: got\n%+v (%v)\nwant\n%+v", got, err, want)
	}
	want.Held = 0
	got, err = walletredis.DecodeUsage(redis.XMessage{ID: "5-0", Values: map[string]any{
		"e": "3\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1f99\x1f100\x1f250\x1f350\x1f2300\x1f180\x1fcloud\x1fok\x1fqwen3:8b\x1fc1\x1f|"}})
	if err != nil || got != want {
		t.Fatalf("format 3: got\n%+v (%v)\nwant\n%+v", got, err, want)
	}
	// A format-3 event labelled 4 lacks a value: refused, never misread.
	if u, err := walletredis.DecodeUsage(redis.XMessage{ID: "5-0", Values: map[string]any{
		"e": "4\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1f99\x1f100\x1f250\x1f350\x1f2300\x1f180\x1fcloud\x1fok\x1fqwen3:8b"}}); err == nil {
		t.Fatalf("a short format-4 event was decoded: %+v", u)
	}
}

// An event decodes to the record Settle wrote: the client's id, last, may
// hold the separator.
func TestDecodeUsage_Event(t *testing.T) {
	want := walletredis.Usage{StreamID: "5-0", RequestID: "r1", Account: 7, Credits: 10, Shortfall: 4,
		CreatedAt: time.UnixMilli(1700000000123).UTC(), Usage: wallet.Usage{
			ClientRequestID: "c1\x1f|", APIKeyID: 99, Model: "qwen3:8b", Backend: "cloud", Status: "ok", PromptTokens: 100,
			CompletionTokens: 250, TotalTokens: 350, Latency: 2300 * time.Millisecond, TTFB: 180 * time.Millisecond}}
	got, err := walletredis.DecodeUsage(redis.XMessage{ID: "5-0", Values: map[string]any{
		"e": "3\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1f99\x1f100\x1f250\x1f350\x1f2300\x1f180\x1fcloud\x1fok\x1fqwen3:8b\x1fc1\x1f|"}})
	if err != nil || got != want {
		t.Fatalf("got\n%+v (%v)\nwant\n%+v", got, err, want)
	}
}

// A malformed event is an error, never a wrong record.
func TestDecodeUsage_MalformedEvent(t *testing.T) {
	for _, e := range []string{
		"",
		"3\x1fr\x1f1\x1f5", // cut short before the packed values
		"3\x1fr\x1fx\x1f5\x1f0\x1f1700000000000\x1f1\x1f10\x1f20\x1f30\x1f100\x1f10\x1flocal\x1fok\x1fm\x1f", // account not a number
		"3\x1fr\x1f1\x1f5\x1f0\x1f1700000000000\x1f1\x1f10\x1f20",                                            // too few packed values
		"3\x1f\x1f1\x1f5\x1f0\x1f1700000000000\x1f1\x1f10\x1f20\x1f30\x1f100\x1f10\x1flocal\x1fok\x1fm\x1f",  // no request id
		"3\x1fr\x1f1\x1f5\x1f0\x1f1700000000000\x1f1\x1fx\x1f3\x1f4\x1f5\x1f6\x1fcloud\x1fok\x1fm\x1fc",      // a token count not a number
	} {
		if u, err := walletredis.DecodeUsage(redis.XMessage{ID: "1-0", Values: map[string]any{"e": e}}); err == nil {
			t.Fatalf("event %q was decoded: %+v", e, u)
		}
	}
}

// Format 5 is format 4 with the balance alert after created_at_ms: empty
// (nearly always) or the alert the debit raised. DecodeEvent also reads
// the alert events of refusals, which DecodeUsage refuses as not usage.
func TestDecodeEvent_Format5AndAlertEvents(t *testing.T) {
	usage := walletredis.Usage{StreamID: "5-0", RequestID: "r1", Account: 7, Credits: 10, Shortfall: 4,
		CreatedAt: time.UnixMilli(1700000000123).UTC(), Usage: wallet.Usage{
			ClientRequestID: "c1\x1f|", APIKeyID: 99, Model: "qwen3:8b", Backend: "cloud", Status: "ok", PromptTokens: 100,
			CompletionTokens: 250, TotalTokens: 350, Latency: 2300 * time.Millisecond, TTFB: 180 * time.Millisecond, Held: 640}}
	const rest = "\x1f99\x1f100\x1f250\x1f350\x1f2300\x1f180\x1f640\x1fcloud\x1fok\x1fqwen3:8b\x1fc1\x1f|"
	for _, tc := range []struct {
		name, e string
		alert   wallet.Alert
	}{
		{"NoAlert", "5\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1f" + rest, wallet.Alert{}},
		{"Low", "5\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1flow:3:19" + rest, wallet.Alert{Kind: wallet.AlertLow, Account: 7, PeriodSeq: 3, Balance: 19}},
		{"Exhausted", "5\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1fexhausted:3:0" + rest, wallet.Alert{Kind: wallet.AlertExhausted, Account: 7, PeriodSeq: 3}},
		{"Format4", "4\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123" + rest, wallet.Alert{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := walletredis.DecodeEvent(redis.XMessage{ID: "5-0", Values: map[string]any{"e": tc.e}})
			if err != nil || ev.Usage == nil || *ev.Usage != usage || ev.Alert != tc.alert || ev.StreamID != "5-0" {
				t.Fatalf("DecodeEvent = %+v (usage %+v), %v; want usage %+v, alert %+v", ev, ev.Usage, err, usage, tc.alert)
			}
			if u, err := walletredis.DecodeUsage(redis.XMessage{ID: "5-0", Values: map[string]any{"e": tc.e}}); err != nil || u != usage {
				t.Fatalf("DecodeUsage = %+v, %v", u, err)
			}
		})
	}
	alert := redis.XMessage{ID: "6-0", Values: map[string]any{"a": "1\x1f42\x1fexhausted:2:1"}}
	ev, err := walletredis.DecodeEvent(alert)
	want := walletredis.Event{StreamID: "6-0", Alert: wallet.Alert{Kind: wallet.AlertExhausted, Account: 42, PeriodSeq: 2, Balance: 1}}
	if err != nil || ev != want {
		t.Fatalf("DecodeEvent(alert event) = %+v, %v; want %+v", ev, err, want)
	}
	if _, err := walletredis.DecodeUsage(alert); !errors.Is(err, walletredis.ErrNotUsage) {
		t.Fatalf("DecodeUsage(alert event) = %v, want ErrNotUsage", err)
	}
	for _, bad := range []redis.XMessage{
		{ID: "1-0", Values: map[string]any{"e": "5\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1fhigh:3:19" + rest}},
		{ID: "1-0", Values: map[string]any{"e": "5\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1flow:x:19" + rest}},
		{ID: "1-0", Values: map[string]any{"e": "5\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123\x1flow:3" + rest}},
		{ID: "1-0", Values: map[string]any{"e": "5\x1fr1\x1f7\x1f10\x1f4\x1f1700000000123"}},
		{ID: "1-0", Values: map[string]any{"a": "1\x1f0\x1fexhausted:2:1"}},
		{ID: "1-0", Values: map[string]any{"a": "1\x1f42"}},
		{ID: "1-0", Values: map[string]any{"a": "1\x1f42\x1fexhausted:-1:1"}},
	} {
		if ev, err := walletredis.DecodeEvent(bad); err == nil {
			t.Fatalf("entry %q was decoded: %+v", bad.Values, ev)
		}
	}
}

// The settle script reports the crossing in the event of the debit that
// crossed, and only there; the reserve script appends one alert event for
// the refusals of a period, and none for a hold not marked AlertOnRefusal.
func TestScripts_ReportAlertsOnTheStream(t *testing.T) {
	ctx := context.Background()
	w, env, _, acct := hot(t, 100) // period 1: 100 credits
	settleOK := func(id string, cost resayil.Credits) {
		t.Helper()
		if _, err := w.Settle(ctx, wallet.Settlement{RequestID: id, Account: acct, Cost: cost}); err != nil {
			t.Fatal(err)
		}
	}
	settleOK("a", 80) // 100 to 20: not below 20
	settleOK("b", 1)  // 20 to 19: below a fifth
	settleOK("c", 1)  // 19 to 18: already below
	refuse := func(id string, mark bool) {
		t.Helper()
		_, err := w.Reserve(ctx, wallet.Hold{RequestID: id, Account: acct, Amount: 50, MinAmount: 50, AlertOnRefusal: mark})
		if resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
			t.Fatalf("Reserve(%s) = %v, want a refusal", id, err)
		}
	}
	refuse("operator", false)
	refuse("r1", true)
	refuse("r2", true)
	var got []string
	for _, ev := range eventsOf(t, env.Client, w, acct) {
		switch {
		case ev.Usage != nil:
			got = append(got, fmt.Sprintf("usage %s %+v", ev.Usage.RequestID, ev.Alert))
		default:
			got = append(got, fmt.Sprintf("alert %+v", ev.Alert))
		}
	}
	want := []string{
		fmt.Sprintf("usage a %+v", wallet.Alert{}),
		fmt.Sprintf("usage b %+v", wallet.Alert{Kind: wallet.AlertLow, Account: acct, PeriodSeq: 1, Balance: 19}),
		fmt.Sprintf("usage c %+v", wallet.Alert{}),
		fmt.Sprintf("alert %+v", wallet.Alert{Kind: wallet.AlertExhausted, Account: acct, PeriodSeq: 1, Balance: 18}),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("stream =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
