package whatsapp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/pkg/whatsapp"
)

// The contract's synthetic vector.
const (
	vectorSecret = "app-secret"
	vectorBody   = `{"object":"whatsapp_business_account","entry":[]}`
	vectorHeader = "sha256=d3e4f9da0ce6c71ab3dba55929b8eeeee2455349e534924ead19f98d143e904f"
)

func TestVerifySignature(t *testing.T) {
	if !whatsapp.VerifySignature(vectorSecret, vectorHeader, []byte(vectorBody)) {
		t.Fatal("the synthetic vector does not verify")
	}
	for name, tc := range map[string]struct {
		secret, header, body string
	}{
		"tampered body":       {vectorSecret, vectorHeader, `{"object":"whatsapp_business_account","entry":[{}]}`},
		"re-encoded body":     {vectorSecret, vectorHeader, `{"object": "whatsapp_business_account", "entry": []}`},
		"trailing new-line":   {vectorSecret, vectorHeader, vectorBody + "\n"},
		"other secret":        {"other-secret", vectorHeader, vectorBody},
		"verify token as key": {"my-verify-token", vectorHeader, vectorBody},
		"empty secret":        {"", vectorHeader, vectorBody},
		"no prefix":           {vectorSecret, strings.TrimPrefix(vectorHeader, "sha256="), vectorBody},
		"sha1 prefix":         {vectorSecret, "sha1=" + strings.TrimPrefix(vectorHeader, "sha256="), vectorBody},
		"empty header":        {vectorSecret, "", vectorBody},
		"prefix only":         {vectorSecret, "sha256=", vectorBody},
		"truncated":           {vectorSecret, vectorHeader[:len(vectorHeader)-2], vectorBody},
		"not hex":             {vectorSecret, "sha256=" + strings.Repeat("zz", 32), vectorBody},
		"one digit changed":   {vectorSecret, vectorHeader[:len(vectorHeader)-1] + "e", vectorBody},
	} {
		if whatsapp.VerifySignature(tc.secret, tc.header, []byte(tc.body)) {
			t.Errorf("%s: verified", name)
		}
	}
	// The fake signs the way Meta does.
	if got := fakewhatsapp.Sign(vectorSecret, []byte(vectorBody)); got != vectorHeader {
		t.Errorf("fakewhatsapp.Sign = %s, want %s", got, vectorHeader)
	}
}

// referencePayload is the contract's status webhook, one status of each
// kind, in the order Meta may deliver them: read before delivered.
const referencePayload = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
  "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"106540352242922"},
  "statuses":[
    {"id":"wamid.A","status":"read","timestamp":"1750857390","recipient_id":"96550000000"},
    {"id":"wamid.A","status":"delivered","timestamp":"1750857386","recipient_id":"96550000000",
     "conversation":{"id":"c1","expiration_timestamp":"1750943786","origin":{"type":"utility"}},
     "pricing":{"billable":true,"pricing_model":"CBP","category":"utility"}},
    {"id":"wamid.A","status":"sent","timestamp":"1750857384","recipient_id":"96550000000",
     "conversation":{"id":"c1","expiration_timestamp":"1750943784","origin":{"type":"utility"}},
     "pricing":{"billable":true,"pricing_model":"PMP","category":"utility"}},
    {"id":"wamid.B","status":"failed","timestamp":"1750857400","recipient_id":"96551111111",
     "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",
       "error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
       "href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]}
  ]}}]}]}`

func TestParseStatuses_ReferencePayload(t *testing.T) {
	got, err := whatsapp.ParseStatuses([]byte(referencePayload))
	if err != nil {
		t.Fatalf("ParseStatuses: %v", err)
	}
	want := []whatsapp.Status{
		{MessageID: "wamid.A", Status: "read", RecipientID: "96550000000", Timestamp: time.Unix(1750857390, 0).UTC()},
		{MessageID: "wamid.A", Status: "delivered", RecipientID: "96550000000", Timestamp: time.Unix(1750857386, 0).UTC()},
		{MessageID: "wamid.A", Status: "sent", RecipientID: "96550000000", Timestamp: time.Unix(1750857384, 0).UTC()},
		{MessageID: "wamid.B", Status: "failed", RecipientID: "96551111111", Timestamp: time.Unix(1750857400, 0).UTC(),
			Errors: []whatsapp.StatusError{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
				Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseStatuses =\n%+v\nwant\n%+v", got, want)
	}
	if got[0].Timestamp.Format(time.RFC3339) != "2025-06-25T13:16:30Z" {
		t.Errorf("timestamp read as %v", got[0].Timestamp)
	}
	if c := whatsapp.Classify(got[3].Errors[0].AsError()); c != whatsapp.Permanent {
		t.Errorf("a failed status's 131047 classifies as %v, want permanent", c)
	}
}

func TestParseStatuses_IgnoresOtherContent(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[
	 {"id":"1","changes":[
	  {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{},
	    "contacts":[{"profile":{"name":"Ahmad"},"wa_id":"96550000000"}],
	    "messages":[{"from":"96550000000","id":"wamid.IN","timestamp":"1750857000","type":"text","text":{"body":"hi"}}]}},
	  {"field":"message_template_status_update","value":{"event":"APPROVED","message_template_name":"credits_low","statuses":[{"id":"x","status":"sent","timestamp":"bad"}]}},
	  {"field":"messages","value":{"errors":[{"code":131000,"title":"Something went wrong"}]}}]},
	 {"id":"2","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.C","status":"sent","timestamp":1750857384,"recipient_id":"1"}]}}]}]}`
	got, err := whatsapp.ParseStatuses([]byte(body))
	if err != nil {
		t.Fatalf("ParseStatuses: %v", err)
	}
	want := []whatsapp.Status{{MessageID: "wamid.C", Status: "sent", RecipientID: "1", Timestamp: time.Unix(1750857384, 0).UTC()}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseStatuses = %+v, want only wamid.C's (a numeric timestamp is accepted too)", got)
	}
	if got, err := whatsapp.ParseStatuses([]byte(vectorBody)); err != nil || len(got) != 0 {
		t.Errorf("empty entry: %v, %v", got, err)
	}
}

func TestParseStatuses_Malformed(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":          `{"object":`,
		"other object":      `{"object":"page","entry":[]}`,
		"no object":         `{"entry":[]}`,
		"bad timestamp":     `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"sent","timestamp":"soon"}]}}]}]}`,
		"missing timestamp": `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"sent"}]}}]}]}`,
		"missing id":        `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"sent","timestamp":"1"}]}}]}]}`,
		"missing status":    `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","timestamp":"1"}]}}]}]}`,
	} {
		if got, err := whatsapp.ParseStatuses([]byte(body)); err == nil {
			t.Errorf("%s: no error, got %+v", name, got)
		}
	}
}

func TestRank(t *testing.T) {
	for status, want := range map[string]int{"sent": 1, "delivered": 2, "read": 3, "failed": 4, "": 0, "deleted": 0, "SENT": 0, "warning": 0} {
		if got := whatsapp.Rank(status); got != want {
			t.Errorf("Rank(%q) = %d, want %d", status, got, want)
		}
	}
}

// TestWebhookRoundTrip: statuses for a message the client sent, posted by the
// fake out of order to an endpoint that verifies and parses them the way
// the portal's handler must.
func TestWebhookRoundTrip(t *testing.T) {
	const secret = "dev-app-secret"
	opts := defaultOptions()
	opts.AppSecret = secret
	h := newHarness(t, opts)
	id, err := h.client(testToken).SendTemplate(t.Context(), lowCredits)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var got []whatsapp.Status
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !whatsapp.VerifySignature(secret, r.Header.Get(whatsapp.SignatureHeader), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		sts, err := whatsapp.ParseStatuses(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, sts...)
		mu.Unlock()
	}))
	defer endpoint.Close()

	t0 := time.Unix(1750857384, 0).UTC()
	sent := []whatsapp.Status{
		{MessageID: id, Status: "read", RecipientID: "96550000000", Timestamp: t0.Add(9 * time.Second)},
		{MessageID: id, Status: "sent", RecipientID: "96550000000", Timestamp: t0},
		{MessageID: id, Status: "delivered", RecipientID: "96550000000", Timestamp: t0.Add(2 * time.Second)},
		{MessageID: "wamid.other", Status: "failed", RecipientID: "96551111111", Timestamp: t0.Add(time.Second),
			Errors: []whatsapp.StatusError{{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable", Details: "not on WhatsApp"}}},
	}
	if err := h.fake.PostStatuses(t.Context(), endpoint.URL, sent...); err != nil {
		t.Fatalf("PostStatuses: %v", err)
	}
	if !reflect.DeepEqual(got, sent) {
		t.Errorf("endpoint read\n%+v\nwant\n%+v", got, sent)
	}

	// The best status of the message, by rank and never by arrival.
	best := ""
	for _, s := range got {
		if s.MessageID == id && whatsapp.Rank(s.Status) > whatsapp.Rank(best) {
			best = s.Status
		}
	}
	if best != "read" {
		t.Errorf("best status = %q, want read", best)
	}

	// An endpoint that refuses is an error for the fake, as for Meta.
	unsigned := fakewhatsapp.New(fakewhatsapp.Options{})
	if err := unsigned.PostStatuses(t.Context(), endpoint.URL, sent[0]); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("unsigned webhook: err = %v, want the endpoint's 401", err)
	}
}
