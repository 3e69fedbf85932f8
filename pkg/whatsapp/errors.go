package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Error is a Graph error answer
// ({"error":{message,type,code,error_data:{details},fbtrace_id}}), or a
// non-2xx answer that carried no Graph error (then Code is 0 and Type empty,
// and Message holds the start of the body).
type Error struct {
	HTTPStatus                        int
	Code                              int
	Subcode                           int // error_subcode: deprecated by Meta, still sent by some answers
	Type, Message, Details, FBTraceID string

	// coded records that the body was a Graph error with a code, so that
	// code 0 (an auth exception) is told apart from "no code at all".
	coded bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("whatsapp: ")
	if e.hasCode() {
		fmt.Fprintf(&b, "graph error %d", e.Code)
		if e.Subcode != 0 {
			fmt.Fprintf(&b, "/%d", e.Subcode)
		}
		fmt.Fprintf(&b, " (http %d)", e.HTTPStatus)
	} else {
		fmt.Fprintf(&b, "http %d", e.HTTPStatus)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Details != "" {
		b.WriteString(": " + e.Details)
	}
	if e.FBTraceID != "" {
		b.WriteString(" [fbtrace_id " + e.FBTraceID + "]")
	}
	return b.String()
}

// hasCode: an Error built by hand (in a test) with a code or a type counts
// as a Graph error too.
func (e *Error) hasCode() bool { return e.coded || e.Code != 0 || e.Type != "" }

type errorBody struct {
	Error *struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      *int   `json:"code"`
		Subcode   int    `json:"error_subcode"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

func parseError(status int, raw []byte) *Error {
	var b errorBody
	if err := json.Unmarshal(raw, &b); err != nil || b.Error == nil || b.Error.Code == nil {
		// A proxy or load balancer answered, not Graph.
		return &Error{HTTPStatus: status, Message: fmt.Sprintf("%s: %.200s", http.StatusText(status), raw)}
	}
	g := b.Error
	return &Error{
		HTTPStatus: status,
		Code:       *g.Code,
		Subcode:    g.Subcode,
		Type:       g.Type,
		Message:    g.Message,
		Details:    g.ErrorData.Details,
		FBTraceID:  g.FBTraceID,
		coded:      true,
	}
}

// Class is what a sender should do after an error.
type Class int

const (
	Retry     Class = iota // throttling (130429, 131056), maintenance (131057), 5xx/429 without a known code, network errors: try again later
	Permanent              // this message can never be sent as it is: undeliverable number (131026), template missing/wrong language (132001), parameter mismatch (132000), invalid parameter (100), re-engagement (131047), spam limits (131048/131049), anything unknown 4xx
	Paused                 // the sender itself is broken: auth (0, 190), permissions (10, 200–299), account restricted/locked (368, 131031): stop sending everything until an operator acts
)

func (c Class) String() string {
	switch c {
	case Retry:
		return "retry"
	case Permanent:
		return "permanent"
	case Paused:
		return "paused"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// codeClass holds the codes whose handling is known. Meta asks clients to
// branch on the code, not on the HTTP status, which is 400 for most of them.
// Beyond the codes the product's contract lists, it holds the ones Meta's
// error-code table marks as temporary (1, 2, 4, 80007, 131000, 131016,
// 133004) or as a broken sender (3, 131042, 133010): without them a
// temporary outage answered with 400 would drop messages as Permanent.
var codeClass = map[int]Class{
	// Paused: auth, permissions, the account or number itself.
	0:      Paused, // AuthException
	190:    Paused, // access token expired or invalid
	3:      Paused, // capability or permission missing for this method
	10:     Paused, // permission denied
	368:    Paused, // temporarily blocked for policy violations
	131031: Paused, // business account locked
	131042: Paused, // business eligibility: payment issue
	133010: Paused, // phone number not registered on the Cloud API

	// Retry: throttling, maintenance, Meta-side failures.
	1:      Retry, // unknown error
	2:      Retry, // service temporarily unavailable
	4:      Retry, // application request limit reached
	80007:  Retry, // WhatsApp Business Account rate limit
	130429: Retry, // throughput limit of the number
	131056: Retry, // pair rate limit: too many messages to the same user
	131057: Retry, // account in maintenance mode
	131000: Retry, // something went wrong
	131016: Retry, // service unavailable
	133004: Retry, // server temporarily unavailable

	// Permanent: this message as it is will never go.
	100:    Permanent, // invalid parameter
	131008: Permanent, // required parameter missing
	131009: Permanent, // parameter value not valid
	131026: Permanent, // undeliverable: not on WhatsApp, blocked us, old client
	131047: Permanent, // re-engagement: 24 h window closed
	131048: Permanent, // spam rate limit
	131049: Permanent, // per-user marketing limit
	132000: Permanent, // template parameter count mismatch
	132001: Permanent, // template does not exist in that language
}

// Classify sorts an error from SendTemplate. ErrInvalid is Permanent,
// ErrNotConfigured Paused; a *Error goes by its code (codeClass; code 100
// with subcode 33, an unknown phone number id, is Paused), and when
// the code is unknown or absent by its HTTP status: 401/403 Paused, other
// 4xx Permanent, anything else Retry. Every other error (network, timeout,
// cancellation, a garbled 200) is Retry. Classify(nil) is Retry and
// meaningless.
func Classify(err error) Class {
	if errors.Is(err, ErrInvalid) {
		return Permanent
	}
	if errors.Is(err, ErrNotConfigured) {
		return Paused
	}
	var e *Error
	if !errors.As(err, &e) {
		return Retry
	}
	if e.hasCode() {
		if e.Code == 100 && e.Subcode == 33 {
			// "Object with ID … does not exist": the configured phone
			// number id is wrong or out of the token's reach, so every
			// message would fail the same way.
			return Paused
		}
		if c, ok := codeClass[e.Code]; ok {
			return c
		}
		if e.Code >= 200 && e.Code <= 299 { // permission errors
			return Paused
		}
	}
	switch s := e.HTTPStatus; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return Paused
	case s == http.StatusTooManyRequests:
		return Retry
	case s >= 400 && s <= 499:
		return Permanent
	}
	return Retry
}

// Backoff returns how long to wait before attempt number attempt+1 after
// err, attempt being the number of attempts made so far (1 after the first
// failure; lower values count as 1). It uses full jitter from rnd (in
// [0,1); nil: math/rand/v2): the wait is rnd() times a ceiling. For pair-rate
// limits (131056) the ceiling is 4^attempt seconds, as Meta suggests; for
// everything else it is base·2^(attempt-1). Both ceilings are capped at max.
func Backoff(err error, attempt int, base, max time.Duration, rnd func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	var ceiling float64
	var e *Error
	if errors.As(err, &e) && e.hasCode() && e.Code == 131056 {
		ceiling = math.Pow(4, float64(attempt)) * float64(time.Second)
	} else {
		ceiling = float64(base) * math.Pow(2, float64(attempt-1))
	}
	// Compared in float64, so a large attempt cannot overflow.
	if ceiling > float64(max) {
		ceiling = float64(max)
	}
	if ceiling <= 0 {
		return 0
	}
	r := rnd()
	if r < 0 {
		r = 0
	}
	if r >= 1 {
		r = math.Nextafter(1, 0)
	}
	return time.Duration(r * ceiling)
}
