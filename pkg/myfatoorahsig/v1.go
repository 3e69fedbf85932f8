package myfatoorahsig

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
)

// V1 event types whose Data needs special treatment before signing.
const v1RefundStatusChanged = "2"

// CanonicalV1 returns the string V1 signs for a webhook's Data object: all
// keys sorted case-insensitively (PHP uksort with strcasecmp), each written
// as key=value with PHP stringification, joined by ",". Decode Data with
// json.Decoder.UseNumber so integers keep their digits; float64 values are
// formatted as PHP would, which is right for whole numbers.
func CanonicalV1(data map[string]any) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := asciiLower(keys[i]), asciiLower(keys[j])
		if a != b {
			return a < b
		}
		return keys[i] < keys[j]
	})
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(phpString(data[k]))
	}
	return sb.String()
}

// SignV1 returns the V1 signature of a webhook's Data object.
func SignV1(data map[string]any, secret string) string {
	return mac(CanonicalV1(data), secret)
}

// SignV1Event returns the V1 signature of a whole V1 webhook body
// ({"EventType":…,"Data":{…}}). For EventType 2 (RefundStatusChanged) the
// GatewayReference property is left out, as the official library does.
func SignV1Event(body []byte, secret string) (string, error) {
	data, err := v1Data(body)
	if err != nil {
		return "", err
	}
	return SignV1(data, secret), nil
}

// VerifyV1 checks the MyFatoorah-Signature value of a V1 webhook body in
// constant time. It returns nil, ErrNoSecret, ErrMismatch or a decode error.
func VerifyV1(body []byte, secret, signature string) error {
	data, err := v1Data(body)
	if err != nil {
		return err
	}
	return verify(CanonicalV1(data), secret, signature)
}

func v1Data(body []byte) (map[string]any, error) {
	var env struct {
		EventType json.Number    `json:"EventType"`
		Data      map[string]any `json:"Data"`
	}
	if err := decode(body, &env); err != nil {
		return nil, err
	}
	if env.Data == nil {
		return nil, errors.New("myfatoorahsig: V1 webhook body has no Data object")
	}
	if env.EventType.String() == v1RefundStatusChanged {
		delete(env.Data, "GatewayReference")
	}
	return env.Data, nil
}

// asciiLower lower-cases ASCII letters only, as PHP's strcasecmp compares.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
