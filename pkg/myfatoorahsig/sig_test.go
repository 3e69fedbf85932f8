package myfatoorahsig_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/myfatoorahsig"
)

const secret = "test-webhook-secret"

// Synthetic vectors: webhook bodies in MyFatoorah's documented shapes, with
// their canonical text and their signature under secret. The V1 Data keys are
// in the docs' order, not sorted, so the test also proves the sorting.
const (
	v1Body = `{"EventType":1,"Event":"TransactionsStatusChanged","DateTime":"04032021211615","CountryIsoCode":"KWT","Data":{` +
		`"InvoiceId":586170,"InvoiceReference":"2021000184","CreatedDate":"04032021211555",` +
		`"CustomerReference":"topup-42","CustomerName":"Test","CustomerMobile":"96512345678","CustomerEmail":null,` +
		`"TransactionStatus":"SUCCESS","PaymentMethod":"KNET","UserDefinedField":"user-7","ReferenceId":"106310001097",` +
		`"TrackId":"04-03-2021_477336","PaymentId":"100202106359084366","AuthorizationId":"B68413",` +
		`"InvoiceValueInBaseCurrency":"5.000","BaseCurrency":"KWD","InvoiceValueInDisplayCurreny":"5.000",` +
		`"DisplayCurrency":"KWD","InvoiceValueInPayCurrency":"5.000","PayCurrency":"KWD"}}`
	v1Canonical = "AuthorizationId=B68413,BaseCurrency=KWD,CreatedDate=04032021211555,CustomerEmail=,CustomerMobile=96512345678,CustomerName=Test,CustomerReference=topup-42,DisplayCurrency=KWD,InvoiceId=586170,InvoiceReference=2021000184,InvoiceValueInBaseCurrency=5.000,InvoiceValueInDisplayCurreny=5.000,InvoiceValueInPayCurrency=5.000,PayCurrency=KWD,PaymentId=100202106359084366,PaymentMethod=KNET,ReferenceId=106310001097,TrackId=04-03-2021_477336,TransactionStatus=SUCCESS,UserDefinedField=user-7"
	v1Signature = "bjRzg7s+cQnn+Qv1jguzFSF9g1E5rvF4FF8RnC4HJlo="

	v2Body = `{"Event":{"Code":1,"Name":"PAYMENT_STATUS_CHANGED","CountryIsoCode":"KWT","CreationDate":"2026-08-14T10:00:00Z","Reference":"WH-626519"},` +
		`"Data":{"Invoice":{"Id":6409988,"Status":"PAID","Reference":"2026000001","ExternalIdentifier":null},` +
		`"Transaction":{"Id":"123","Status":"SUCCESS","PaymentId":"07076409988323998875"},` +
		`"Customer":{"Name":"Test"},"Amount":{"BaseCurrency":"KWD","ValueInBaseCurrency":5.000}}}`
	v2Canonical = "Invoice.Id=6409988,Invoice.Status=PAID,Transaction.Status=SUCCESS,Transaction.PaymentId=07076409988323998875,Invoice.ExternalIdentifier="
	v2Signature = "ATzf+aw3aQq7YxODV8ROn5DMXqCFIQ/vKj3RgrAUvgE="
)

func TestV1_ReferenceVector(t *testing.T) {
	got, err := myfatoorahsig.SignV1Event([]byte(v1Body), secret)
	if err != nil {
		t.Fatal(err)
	}
	if got != v1Signature {
		t.Fatalf("SignV1Event = %q, want %q", got, v1Signature)
	}
	if err := myfatoorahsig.VerifyV1([]byte(v1Body), secret, v1Signature); err != nil {
		t.Fatalf("VerifyV1: %v", err)
	}
}

func TestV1_CanonicalAndMap(t *testing.T) {
	data := map[string]any{
		"InvoiceId":        586170.0, // a float64 whole number, as json.Unmarshal without UseNumber gives
		"InvoiceReference": "2021000184", "CreatedDate": "04032021211555",
		"CustomerReference": "topup-42", "CustomerName": "Test", "CustomerMobile": "96512345678",
		"CustomerEmail": nil, "TransactionStatus": "SUCCESS", "PaymentMethod": "KNET",
		"UserDefinedField": "user-7", "ReferenceId": "106310001097", "TrackId": "04-03-2021_477336",
		"PaymentId": "100202106359084366", "AuthorizationId": "B68413",
		"InvoiceValueInBaseCurrency": "5.000", "BaseCurrency": "KWD",
		"InvoiceValueInDisplayCurreny": "5.000", "DisplayCurrency": "KWD",
		"InvoiceValueInPayCurrency": "5.000", "PayCurrency": "KWD",
	}
	if got := myfatoorahsig.CanonicalV1(data); got != v1Canonical {
		t.Fatalf("CanonicalV1 =\n%s\nwant\n%s", got, v1Canonical)
	}
	if got := myfatoorahsig.SignV1(data, secret); got != v1Signature {
		t.Fatalf("SignV1 = %q, want %q", got, v1Signature)
	}
}

func TestV1_PHPStringification(t *testing.T) {
	data := map[string]any{"b": true, "a": false, "C": 2.5, "d": 36.0, "e": map[string]any{"x": 1}, "f": 1e25}
	want := "a=,b=1,C=2.5,d=36,e=Array,f=1.0E+25"
	if got := myfatoorahsig.CanonicalV1(data); got != want {
		t.Fatalf("CanonicalV1 = %q, want %q", got, want)
	}
}

func TestV1_RefundDropsGatewayReference(t *testing.T) {
	with := `{"EventType":2,"Data":{"RefundId":5,"GatewayReference":"gw-1"}}`
	without := map[string]any{"RefundId": 5}
	got, err := myfatoorahsig.SignV1Event([]byte(with), secret)
	if err != nil {
		t.Fatal(err)
	}
	if want := myfatoorahsig.SignV1(without, secret); got != want {
		t.Fatalf("refund signature includes GatewayReference")
	}
	// Only event 2 drops it.
	other := strings.Replace(with, `"EventType":2`, `"EventType":1`, 1)
	if got2, _ := myfatoorahsig.SignV1Event([]byte(other), secret); got2 == got {
		t.Fatalf("event 1 dropped GatewayReference")
	}
}

func TestV1_TamperingFails(t *testing.T) {
	cases := map[string]string{
		"status":   strings.Replace(v1Body, `"SUCCESS"`, `"FAILED"`, 1),
		"amount":   strings.Replace(v1Body, `"InvoiceValueInBaseCurrency":"5.000"`, `"InvoiceValueInBaseCurrency":"0.001"`, 1),
		"email":    strings.Replace(v1Body, `"CustomerEmail":null`, `"CustomerEmail":"x@y.z"`, 1),
		"extraKey": strings.Replace(v1Body, `"PayCurrency":"KWD"`, `"PayCurrency":"KWD","Extra":"1"`, 1),
	}
	for name, body := range cases {
		if err := myfatoorahsig.VerifyV1([]byte(body), secret, v1Signature); !errors.Is(err, myfatoorahsig.ErrMismatch) {
			t.Errorf("%s: VerifyV1 = %v, want ErrMismatch", name, err)
		}
	}
	if err := myfatoorahsig.VerifyV1([]byte(v1Body), "other-secret", v1Signature); !errors.Is(err, myfatoorahsig.ErrMismatch) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := myfatoorahsig.VerifyV1([]byte(v1Body), "", v1Signature); !errors.Is(err, myfatoorahsig.ErrNoSecret) {
		t.Errorf("empty secret: %v", err)
	}
	if err := myfatoorahsig.VerifyV1([]byte(v1Body), secret, ""); !errors.Is(err, myfatoorahsig.ErrMismatch) {
		t.Errorf("empty signature: %v", err)
	}
	if err := myfatoorahsig.VerifyV1([]byte(`{"EventType":1}`), secret, v1Signature); err == nil {
		t.Errorf("missing Data verified")
	}
	if err := myfatoorahsig.VerifyV1([]byte(`not json`), secret, v1Signature); err == nil {
		t.Errorf("garbage verified")
	}
}

func TestV2_ReferenceVector(t *testing.T) {
	c, err := myfatoorahsig.CanonicalV2PaymentStatus([]byte(v2Body))
	if err != nil {
		t.Fatal(err)
	}
	if c != v2Canonical {
		t.Fatalf("CanonicalV2PaymentStatus =\n%s\nwant\n%s", c, v2Canonical)
	}
	for name, sign := range map[string]func([]byte, string) (string, error){
		"SignV2PaymentStatus": myfatoorahsig.SignV2PaymentStatus,
		"SignV2":              myfatoorahsig.SignV2,
	} {
		got, err := sign([]byte(v2Body), secret)
		if err != nil || got != v2Signature {
			t.Fatalf("%s = %q, %v; want %q", name, got, err, v2Signature)
		}
	}
	if err := myfatoorahsig.VerifyV2([]byte(v2Body), secret, " "+v2Signature+"\n"); err != nil {
		t.Fatalf("VerifyV2: %v", err)
	}
}

func TestV2_IDAsStringAndNewReferenceStillVerify(t *testing.T) {
	// The docs type Invoice.Id as a string; the signed text is the same.
	body := strings.Replace(v2Body, `"Id":6409988`, `"Id":"6409988"`, 1)
	// The signature does not cover Event.Reference or the amount.
	body = strings.Replace(body, "WH-626519", "WH-999999", 1)
	body = strings.Replace(body, `"ValueInBaseCurrency":5.000`, `"ValueInBaseCurrency":0.001`, 1)
	if err := myfatoorahsig.VerifyV2([]byte(body), secret, v2Signature); err != nil {
		t.Fatalf("VerifyV2: %v", err)
	}
}

func TestV2_TamperingFails(t *testing.T) {
	cases := map[string]string{
		"invoiceStatus": strings.Replace(v2Body, `"PAID"`, `"PENDING"`, 1),
		"txStatus":      strings.Replace(v2Body, `"Status":"SUCCESS"`, `"Status":"FAILED"`, 1),
		"paymentId":     strings.Replace(v2Body, "07076409988323998875", "07076409988323998876", 1),
		"invoiceId":     strings.Replace(v2Body, "6409988,", "6409989,", 1),
		"externalId":    strings.Replace(v2Body, `"ExternalIdentifier":null`, `"ExternalIdentifier":"x"`, 1),
	}
	for name, body := range cases {
		if err := myfatoorahsig.VerifyV2([]byte(body), secret, v2Signature); !errors.Is(err, myfatoorahsig.ErrMismatch) {
			t.Errorf("%s: VerifyV2 = %v, want ErrMismatch", name, err)
		}
	}
	if err := myfatoorahsig.VerifyV2([]byte(v2Body), "", v2Signature); !errors.Is(err, myfatoorahsig.ErrNoSecret) {
		t.Errorf("empty secret: %v", err)
	}
	if err := myfatoorahsig.VerifyV2([]byte(v2Body), secret+"x", v2Signature); !errors.Is(err, myfatoorahsig.ErrMismatch) {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestV2_EventCodes(t *testing.T) {
	refund := `{"Event":{"Code":2,"Name":"REFUND_STATUS_CHANGED"},"Data":{"Refund":{"Id":"R1","Status":"REFUNDED"},` +
		`"Amount":{"ValueInBaseCurrency":"5.000"},"ReferencedInvoice":{"Id":77}}}`
	sig, err := myfatoorahsig.SignV2([]byte(refund), secret)
	if err != nil {
		t.Fatal(err)
	}
	if want := hmacB64("Refund.Id=R1,Refund.Status=REFUNDED,Amount.ValueInBaseCurrency=5.000,ReferencedInvoice.Id=77"); sig != want {
		t.Fatalf("refund signature %q, want %q", sig, want)
	}
	if err := myfatoorahsig.VerifyV2([]byte(refund), secret, sig); err != nil {
		t.Fatalf("VerifyV2 refund: %v", err)
	}
	unknown := strings.Replace(refund, `"Code":2`, `"Code":3`, 1)
	if _, err := myfatoorahsig.SignV2([]byte(unknown), secret); !errors.Is(err, myfatoorahsig.ErrUnsupportedEvent) {
		t.Fatalf("SignV2 code 3: %v, want ErrUnsupportedEvent", err)
	}
}

// hmacB64 is the signature written out independently of the package under
// test: base64 of HMAC-SHA256 of the canonical text, keyed by the secret.
func hmacB64(canonical string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(canonical))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}
