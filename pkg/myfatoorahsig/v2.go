package myfatoorahsig

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// V2 event codes (Event.Code) with a known signature field list.
const (
	EventPaymentStatusChanged = 1
	EventRefundStatusChanged  = 2
)

// V2 field lists, resolved relative to Data, signed in this order with no
// sorting. These come from independent integrations that agree, not from a
// sentence of MyFatoorah's documentation.
var (
	paymentStatusFields = []string{
		"Invoice.Id", "Invoice.Status", "Transaction.Status",
		"Transaction.PaymentId", "Invoice.ExternalIdentifier",
	}
	refundStatusFields = []string{
		"Refund.Id", "Refund.Status", "Amount.ValueInBaseCurrency",
		"ReferencedInvoice.Id",
	}
)

type v2Envelope struct {
	Event struct {
		Code json.Number `json:"Code"`
	} `json:"Event"`
	Data map[string]any `json:"Data"`
}

// CanonicalV2PaymentStatus returns the string V2 signs for a
// PAYMENT_STATUS_CHANGED webhook body: "Invoice.Id=…,Invoice.Status=…,
// Transaction.Status=…,Transaction.PaymentId=…,Invoice.ExternalIdentifier=…".
// A missing or null field is signed as an empty value.
func CanonicalV2PaymentStatus(body []byte) (string, error) {
	env, err := v2Decode(body)
	if err != nil {
		return "", err
	}
	return canonicalV2(env.Data, paymentStatusFields), nil
}

// SignV2PaymentStatus returns the V2 signature of a PAYMENT_STATUS_CHANGED
// webhook body, whatever its Event.Code says.
func SignV2PaymentStatus(body []byte, secret string) (string, error) {
	c, err := CanonicalV2PaymentStatus(body)
	if err != nil {
		return "", err
	}
	return mac(c, secret), nil
}

// SignV2 returns the V2 signature of a webhook body, choosing the field list
// by Event.Code (1 PAYMENT_STATUS_CHANGED, 2 REFUND_STATUS_CHANGED). Other
// codes give ErrUnsupportedEvent.
func SignV2(body []byte, secret string) (string, error) {
	c, err := canonicalV2Event(body)
	if err != nil {
		return "", err
	}
	return mac(c, secret), nil
}

// VerifyV2 checks the MyFatoorah-Signature value of a V2 webhook body in
// constant time, choosing the field list by Event.Code. It returns nil,
// ErrNoSecret, ErrMismatch, ErrUnsupportedEvent or a decode error.
//
// The V2 signature covers neither the amount nor Event.Reference: a valid
// signature proves the sender, not that the amount is right or that the
// event is new. Confirm with GetPaymentStatus.
func VerifyV2(body []byte, secret, signature string) error {
	c, err := canonicalV2Event(body)
	if err != nil {
		return err
	}
	return verify(c, secret, signature)
}

func canonicalV2Event(body []byte) (string, error) {
	env, err := v2Decode(body)
	if err != nil {
		return "", err
	}
	code, _ := env.Event.Code.Int64()
	switch code {
	case EventPaymentStatusChanged:
		return canonicalV2(env.Data, paymentStatusFields), nil
	case EventRefundStatusChanged:
		return canonicalV2(env.Data, refundStatusFields), nil
	default:
		return "", fmt.Errorf("%w: %q", ErrUnsupportedEvent, env.Event.Code.String())
	}
}

func v2Decode(body []byte) (v2Envelope, error) {
	var env v2Envelope
	if err := decode(body, &env); err != nil {
		return env, err
	}
	if env.Data == nil {
		return env, errors.New("myfatoorahsig: V2 webhook body has no Data object")
	}
	return env, nil
}

func canonicalV2(data map[string]any, fields []string) string {
	var sb strings.Builder
	for i, f := range fields {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(f)
		sb.WriteByte('=')
		sb.WriteString(phpString(lookup(data, f)))
	}
	return sb.String()
}

// lookup resolves a dotted path such as "Invoice.Id"; a missing step is nil.
func lookup(data map[string]any, path string) any {
	var cur any = data
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}
