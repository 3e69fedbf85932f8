package whatsapp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/whatsapp"
)

// TestClassify_ReferenceCodes covers every code of the contract's error
// table, as Graph sends it (a coded body, usually with HTTP 400).
func TestClassify_ReferenceCodes(t *testing.T) {
	for _, tc := range []struct {
		code   int
		status int
		want   whatsapp.Class
	}{
		{0, 401, whatsapp.Paused},
		{0, 400, whatsapp.Paused},
		{190, 401, whatsapp.Paused},
		{190, 400, whatsapp.Paused},
		{10, 403, whatsapp.Paused},
		{10, 400, whatsapp.Paused},
		{200, 403, whatsapp.Paused},
		{250, 400, whatsapp.Paused},
		{299, 400, whatsapp.Paused},
		{100, 400, whatsapp.Permanent},
		{130429, 400, whatsapp.Retry},
		{130429, 429, whatsapp.Retry},
		{131056, 400, whatsapp.Retry},
		{131047, 400, whatsapp.Permanent},
		{131026, 400, whatsapp.Permanent},
		{131048, 400, whatsapp.Permanent},
		{131049, 400, whatsapp.Permanent},
		{131057, 400, whatsapp.Retry},
		{131057, 503, whatsapp.Retry},
		{132000, 400, whatsapp.Permanent},
		{132001, 400, whatsapp.Permanent},
		{132001, 404, whatsapp.Permanent},
		{368, 400, whatsapp.Paused},
		{131031, 400, whatsapp.Paused},
		// Beyond the table: Meta's temporary and broken-sender codes.
		{1, 400, whatsapp.Retry},
		{2, 400, whatsapp.Retry},
		{4, 400, whatsapp.Retry},
		{80007, 400, whatsapp.Retry},
		{131000, 500, whatsapp.Retry},
		{131016, 400, whatsapp.Retry},
		{133004, 400, whatsapp.Retry},
		{3, 400, whatsapp.Paused},
		{133010, 400, whatsapp.Paused},
		// Unknown codes go by HTTP status.
		{123456, 400, whatsapp.Permanent},
		{123456, 404, whatsapp.Permanent},
		{123456, 429, whatsapp.Retry},
		{123456, 500, whatsapp.Retry},
		{123456, 503, whatsapp.Retry},
		{123456, 401, whatsapp.Paused},
		{123456, 403, whatsapp.Paused},
		{300, 400, whatsapp.Permanent}, // just past the permission range
	} {
		e := &whatsapp.Error{HTTPStatus: tc.status, Code: tc.code, Type: "OAuthException", Message: "m"}
		if got := whatsapp.Classify(e); got != tc.want {
			t.Errorf("code %d http %d: Classify = %v, want %v", tc.code, tc.status, got, tc.want)
		}
		// Wrapping does not change the class.
		if got := whatsapp.Classify(fmt.Errorf("notify: %w", e)); got != tc.want {
			t.Errorf("wrapped code %d: Classify = %v, want %v", tc.code, got, tc.want)
		}
	}
}

// An answer without a Graph body has Code 0, which must not read as the
// auth exception 0.
func TestClassify_UncodedAnswers(t *testing.T) {
	for status, want := range map[int]whatsapp.Class{
		400: whatsapp.Permanent, 404: whatsapp.Permanent, 413: whatsapp.Permanent,
		401: whatsapp.Paused, 403: whatsapp.Paused,
		429: whatsapp.Retry, 500: whatsapp.Retry, 502: whatsapp.Retry, 504: whatsapp.Retry,
		302: whatsapp.Retry,
	} {
		if got := whatsapp.Classify(&whatsapp.Error{HTTPStatus: status, Message: "body"}); got != want {
			t.Errorf("uncoded %d: Classify = %v, want %v", status, got, want)
		}
	}
}

func TestClassify_OtherErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want whatsapp.Class
	}{
		"invalid":        {fmt.Errorf("%w: x", whatsapp.ErrInvalid), whatsapp.Permanent},
		"not configured": {fmt.Errorf("%w: x", whatsapp.ErrNotConfigured), whatsapp.Paused},
		"network":        {&net.OpError{Op: "dial", Err: errors.New("connection refused")}, whatsapp.Retry},
		"eof":            {io.ErrUnexpectedEOF, whatsapp.Retry},
		"deadline":       {context.DeadlineExceeded, whatsapp.Retry},
		"canceled":       {context.Canceled, whatsapp.Retry},
		"status error":   {whatsapp.StatusError{Code: 131047, Title: "Re-engagement message"}.AsError(), whatsapp.Permanent},
		"status 130429":  {whatsapp.StatusError{Code: 130429}.AsError(), whatsapp.Retry},
		"status 0":       {whatsapp.StatusError{Code: 0, Title: "auth"}.AsError(), whatsapp.Paused},
	} {
		if got := whatsapp.Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify = %v, want %v", name, got, tc.want)
		}
	}
}

func TestClass_String(t *testing.T) {
	for c, want := range map[whatsapp.Class]string{whatsapp.Retry: "retry", whatsapp.Permanent: "permanent", whatsapp.Paused: "paused", 9: "Class(9)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(c), got, want)
		}
	}
}

func TestError_Error(t *testing.T) {
	e := &whatsapp.Error{HTTPStatus: 400, Code: 131056, Subcode: 2494055, Type: "OAuthException",
		Message: "(#131056) pair rate limit hit", Details: "too many messages", FBTraceID: "Axyz"}
	want := "whatsapp: graph error 131056/2494055 (http 400): (#131056) pair rate limit hit: too many messages [fbtrace_id Axyz]"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q\nwant       %q", got, want)
	}
	if got := (&whatsapp.Error{HTTPStatus: 502, Message: "Bad Gateway: <html>"}).Error(); got != "whatsapp: http 502: Bad Gateway: <html>" {
		t.Errorf("uncoded Error() = %q", got)
	}
}

func fixed(r float64) func() float64 { return func() float64 { return r } }

func TestBackoff_Exponential(t *testing.T) {
	base, max := time.Second, time.Minute
	err := &whatsapp.Error{HTTPStatus: 400, Code: 130429, Type: "OAuthException"}
	for _, tc := range []struct {
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{1, 0.5, 500 * time.Millisecond},
		{2, 0.5, time.Second},
		{3, 0.5, 2 * time.Second},
		{4, 0.25, 2 * time.Second},
		{0, 0.5, 500 * time.Millisecond},  // counts as 1
		{-3, 0.5, 500 * time.Millisecond}, // counts as 1
		{7, 0.5, 30 * time.Second},        // 64 s capped at 60 s
		{1, 0, 0},                         // full jitter reaches 0
		{10_000, 0.5, 30 * time.Second},   // no overflow
		{math.MaxInt, 0.5, 30 * time.Second},
	} {
		if got := whatsapp.Backoff(err, tc.attempt, base, max, fixed(tc.rnd)); got != tc.want {
			t.Errorf("attempt %d rnd %v: Backoff = %v, want %v", tc.attempt, tc.rnd, got, tc.want)
		}
	}
	// A network error backs off the same way.
	if got := whatsapp.Backoff(io.ErrUnexpectedEOF, 3, base, max, fixed(0.5)); got != 2*time.Second {
		t.Errorf("network error: Backoff = %v, want 2s", got)
	}
}

func TestBackoff_PairRateLimit(t *testing.T) {
	err := fmt.Errorf("send: %w", &whatsapp.Error{HTTPStatus: 400, Code: 131056, Type: "OAuthException"})
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, 2 * time.Second},   // 4^1 s · 0.5
		{2, 8 * time.Second},   // 4^2 s · 0.5
		{3, 32 * time.Second},  // 4^3 s · 0.5
		{4, 128 * time.Second}, // 4^4 s · 0.5
	} {
		if got := whatsapp.Backoff(err, tc.attempt, time.Millisecond, 10*time.Minute, fixed(0.5)); got != tc.want {
			t.Errorf("attempt %d: Backoff = %v, want %v", tc.attempt, got, tc.want)
		}
	}
	if got := whatsapp.Backoff(err, 5, time.Millisecond, 10*time.Minute, fixed(0.5)); got != 5*time.Minute {
		t.Errorf("attempt 5 (1024 s capped at 600 s): Backoff = %v, want 5m", got)
	}
}

func TestBackoff_Bounds(t *testing.T) {
	base, max := 200*time.Millisecond, 30*time.Second
	errs := []error{
		&whatsapp.Error{HTTPStatus: 400, Code: 131056, Type: "OAuthException"},
		&whatsapp.Error{HTTPStatus: 503},
		io.EOF,
	}
	for _, err := range errs {
		for attempt := 1; attempt <= 40; attempt++ {
			for _, r := range []float64{0, 0.1, 0.5, 0.999999, math.Nextafter(1, 0), 1, 7, -1} {
				got := whatsapp.Backoff(err, attempt, base, max, fixed(r))
				if got < 0 || got > max {
					t.Fatalf("%v attempt %d rnd %v: Backoff = %v, outside [0, %v]", err, attempt, r, got, max)
				}
			}
			// The top of the jitter range is the ceiling, just under.
			hi := whatsapp.Backoff(err, attempt, base, max, fixed(math.Nextafter(1, 0)))
			lo := whatsapp.Backoff(err, attempt, base, max, fixed(0))
			if lo != 0 || hi <= 0 {
				t.Errorf("%v attempt %d: range [%v, %v]", err, attempt, lo, hi)
			}
		}
	}
	// The default source of randomness stays in bounds too.
	for range 100 {
		if got := whatsapp.Backoff(io.EOF, 3, base, max, nil); got < 0 || got > 4*base {
			t.Fatalf("nil rnd: Backoff = %v outside [0, %v]", got, 4*base)
		}
	}
	if got := whatsapp.Backoff(io.EOF, 3, base, 0, fixed(0.5)); got != 0 {
		t.Errorf("max 0: Backoff = %v, want 0", got)
	}
	if s := whatsapp.Backoff(io.EOF, 2, time.Second, time.Minute, fixed(0.75)).String(); !strings.HasPrefix(s, "1.5s") {
		t.Errorf("attempt 2 rnd 0.75 = %s, want 1.5s", s)
	}
}
