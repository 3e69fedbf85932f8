package fakewhatsapp_test

import (
	"context"
	"encoding/json"
	"errors"
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

const (
	token   = "tok"
	phoneID = "106540352242922"
)

func serve(t *testing.T, opts fakewhatsapp.Options) (*fakewhatsapp.Server, string) {
	t.Helper()
	s := fakewhatsapp.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// post sends a raw request and returns the status and the decoded body.
func post(t *testing.T, url, auth, contentType, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("answer Content-Type = %q", ct)
	}
	return resp.StatusCode, resp.Header, v
}

// graphError checks the Graph error shape and returns code and details.
func graphError(t *testing.T, body map[string]any) (code int, subcode int, details string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %v", body)
	}
	for _, k := range []string{"message", "type", "fbtrace_id"} {
		if s, _ := e[k].(string); s == "" {
			t.Errorf("error.%s missing: %v", k, e)
		}
	}
	if e["type"] != "OAuthException" {
		t.Errorf("error.type = %v", e["type"])
	}
	c, ok := e["code"].(float64)
	if !ok {
		t.Fatalf("error.code missing: %v", e)
	}
	if sc, ok := e["error_subcode"].(float64); ok {
		subcode = int(sc)
	}
	if d, ok := e["error_data"].(map[string]any); ok {
		if d["messaging_product"] != "whatsapp" {
			t.Errorf("error_data.messaging_product = %v", d["messaging_product"])
		}
		details, _ = d["details"].(string)
		if details == "" {
			t.Errorf("error_data without details: %v", d)
		}
	}
	return int(c), subcode, details
}

const validBody = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"96550000000","type":"template",
 "template":{"name":"credits_low","language":{"code":"ar"},
   "components":[{"type":"body","parameters":[{"type":"text","text":"أحمد"},{"type":"text","text":"120"}]}]}}`

const authBody = `{"messaging_product":"whatsapp","to":"96550000000","type":"template",
 "template":{"name":"resayil_reset_code","language":{"code":"ar"},
  "components":[{"type":"body","parameters":[{"type":"text","text":"482913"}]},
                {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"482913"}]}]}}`

func TestMessages_Accepted(t *testing.T) {
	s, url := serve(t, fakewhatsapp.Options{Token: token, PhoneNumberID: phoneID})
	status, _, body := post(t, url+"/v23.0/"+phoneID+"/messages", "Bearer "+token, "application/json", validBody)
	if status != 200 {
		t.Fatalf("status %d: %v", status, body)
	}
	msgs := body["messages"].([]any)
	m := msgs[0].(map[string]any)
	id, _ := m["id"].(string)
	if len(msgs) != 1 || !strings.HasPrefix(id, "wamid.") || m["message_status"] != "accepted" {
		t.Errorf("messages = %v", msgs)
	}
	if body["messaging_product"] != "whatsapp" || !reflect.DeepEqual(body["contacts"], []any{map[string]any{"input": "96550000000", "wa_id": "96550000000"}}) {
		t.Errorf("answer = %v", body)
	}
	want := []fakewhatsapp.Message{{ID: id, To: "96550000000", Name: "credits_low", Language: "ar", BodyParams: []string{"أحمد", "120"}}}
	got := s.Messages()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Messages = %+v, want %+v", got, want)
	}
	got[0].BodyParams[0] = "changed"
	if s.Messages()[0].BodyParams[0] != "أحمد" {
		t.Error("Messages shares its slices with the caller")
	}

	// The contract's authentication template, without recipient_type.
	if status, _, body := post(t, url+"/v23.0/"+phoneID+"/messages", "Bearer "+token, "application/json", authBody); status != 200 {
		t.Fatalf("auth template: %d %v", status, body)
	}
	if m := s.Messages()[1]; m.CopyCode != "482913" || !reflect.DeepEqual(m.BodyParams, []string{"482913"}) {
		t.Errorf("auth template recorded as %+v", m)
	}
}

func TestMessages_Refusals(t *testing.T) {
	templates := []fakewhatsapp.TemplateSpec{
		{Name: "credits_low", Language: "ar", BodyParams: 2},
		{Name: "resayil_reset_code", Language: "ar", CopyCode: true},
	}
	msgURL := "/v23.0/" + phoneID + "/messages"
	replace := func(old, new string) string { return strings.Replace(validBody, old, new, 1) }
	replaceAuth := func(old, new string) string { return strings.Replace(authBody, old, new, 1) }
	for _, tc := range []struct {
		name             string
		templates        bool
		path, auth, ct   string
		body             string
		status, code, sc int
	}{
		{name: "no token", auth: "-", status: 401, code: 190},
		{name: "wrong token", auth: "Bearer nope", status: 401, code: 190},
		{name: "not bearer", auth: "Basic " + token, status: 401, code: 190},
		{name: "other phone number id", path: "/v23.0/999/messages", status: 400, code: 100, sc: 33},
		{name: "bad version", path: "/23.0/" + phoneID + "/messages", status: 400, code: 2500},
		{name: "unknown path", path: "/v23.0/" + phoneID + "/message", status: 400, code: 2500},
		{name: "form body", ct: "application/x-www-form-urlencoded", status: 400, code: 100},
		{name: "not JSON", body: "{", status: 400, code: 100},
		{name: "no messaging_product", body: replace(`"messaging_product":"whatsapp",`, ""), status: 400, code: 100},
		{name: "group recipient", body: replace(`"individual"`, `"group"`), status: 400, code: 100},
		{name: "plus in to", body: replace(`"96550000000"`, `"+96550000000"`), status: 400, code: 100},
		{name: "national to", body: replace(`"96550000000"`, `"050000000"`), status: 400, code: 100},
		{name: "free-form text", body: `{"messaging_product":"whatsapp","to":"96550000000","type":"text","text":{"body":"hi"}}`, status: 400, code: 131047},
		{name: "unknown type", body: replace(`"type":"template"`, `"type":"sticker"`), status: 400, code: 100},
		{name: "no template name", body: replace(`"name":"credits_low",`, ""), status: 400, code: 100},
		{name: "no language", body: replace(`"language":{"code":"ar"},`, ""), status: 400, code: 100},
		{name: "empty parameter", body: replace(`"text":"120"`, `"text":""`), status: 400, code: 100},
		{name: "missing text", body: replace(`,"text":"120"`, ``), status: 400, code: 100},
		{name: "new-line parameter", body: replace(`"text":"120"`, `"text":"1\n20"`), status: 400, code: 100},
		{name: "5 spaces parameter", body: replace(`"text":"120"`, `"text":"1     20"`), status: 400, code: 100},
		{name: "currency parameter", body: replace(`{"type":"text","text":"120"}`, `{"type":"currency","currency":{}}`), status: 400, code: 100},
		{name: "header component", body: replace(`[{"type":"body"`, `[{"type":"header","parameters":[]},{"type":"body"`), status: 400, code: 100},
		{name: "numeric index", body: replaceAuth(`"index":"0"`, `"index":0`), status: 400, code: 100},
		{name: "quick reply button", body: replaceAuth(`"sub_type":"url"`, `"sub_type":"quick_reply"`), status: 400, code: 100},
		{name: "button code differs", body: replaceAuth(`"parameters":[{"type":"text","text":"482913"}]}]`, `"parameters":[{"type":"text","text":"000000"}]}]`), status: 400, code: 131009},
		{name: "button code differs, templates", templates: true, body: replaceAuth(`"parameters":[{"type":"text","text":"482913"}]}]`, `"parameters":[{"type":"text","text":"000000"}]}]`), status: 400, code: 131009},
		{name: "auth without button", templates: true, body: replaceAuth(`,
                {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"482913"}]}`, ""), status: 400, code: 131008},
		{name: "unknown template", templates: true, body: replace(`"credits_low"`, `"nope"`), status: 404, code: 132001},
		{name: "missing translation", templates: true, body: replace(`"code":"ar"`, `"code":"en"`), status: 404, code: 132001},
		{name: "param count", templates: true, body: replace(`,{"type":"text","text":"120"}`, ""), status: 400, code: 132000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fakewhatsapp.Options{Token: token, PhoneNumberID: phoneID}
			if tc.templates {
				opts.Templates = templates
			}
			s, url := serve(t, opts)
			path, auth, ct, body := msgURL, "Bearer "+token, "application/json", validBody
			if tc.path != "" {
				path = tc.path
			}
			if tc.auth == "-" {
				auth = ""
			} else if tc.auth != "" {
				auth = tc.auth
			}
			if tc.ct != "" {
				ct = tc.ct
			}
			if tc.body != "" {
				body = tc.body
			}
			status, hdr, answer := post(t, url+path, auth, ct, body)
			code, sc, _ := graphError(t, answer)
			if status != tc.status || code != tc.code || sc != tc.sc {
				t.Errorf("answer %d code %d/%d, want %d code %d/%d: %v", status, code, sc, tc.status, tc.code, tc.sc, answer)
			}
			if status == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `OAuth "Facebook Platform" "invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
			}
			if n := len(s.Messages()); n != 0 {
				t.Errorf("%d refused messages recorded", n)
			}
		})
	}
}

func TestMessages_EmptyOptionsAcceptAnything(t *testing.T) {
	s, url := serve(t, fakewhatsapp.Options{})
	if status, _, body := post(t, url+"/v21.0/any-id/messages", "Bearer whatever", "application/json", validBody); status != 200 {
		t.Errorf("%d %v", status, body)
	}
	if status, _, _ := post(t, url+"/v21.0/any-id/messages", "", "application/json", validBody); status != 401 {
		t.Errorf("no token: %d, want 401 even when any token goes", status)
	}
	if len(s.Messages()) != 1 {
		t.Errorf("Messages = %v", s.Messages())
	}
}

func TestFailNext_ErrorShape(t *testing.T) {
	s, url := serve(t, fakewhatsapp.Options{Token: token})
	s.FailNext(1, 130429, 429)
	status, _, body := post(t, url+"/v23.0/"+phoneID+"/messages", "Bearer "+token, "application/json", validBody)
	code, _, details := graphError(t, body)
	msg := body["error"].(map[string]any)["message"]
	if status != 429 || code != 130429 || msg != "(#130429) Rate limit hit" ||
		details != "Message failed to send because there were too many messages sent from this phone number in a short period of time" {
		t.Errorf("answer %d %v", status, body)
	}
	s.FailNext(1, 424242, 500) // a code the fake has no words for
	status, _, body = post(t, url+"/v23.0/"+phoneID+"/messages", "Bearer "+token, "application/json", validBody)
	if code, _, _ := graphError(t, body); status != 500 || code != 424242 {
		t.Errorf("unknown code: %d %v", status, body)
	}
}

func TestWaitMessages(t *testing.T) {
	s, url := serve(t, fakewhatsapp.Options{Token: token})
	c := whatsapp.New(whatsapp.Config{BaseURL: url, APIVersion: "v23.0", PhoneNumberID: phoneID, Token: token})

	waiting := make(chan struct{})
	result := make(chan []fakewhatsapp.Message, 1)
	go func() {
		close(waiting)
		msgs, err := s.WaitMessages(t.Context(), 2)
		if err != nil {
			t.Error(err)
		}
		result <- msgs
	}()
	<-waiting
	for _, name := range []string{"a", "b"} {
		if _, err := c.SendTemplate(t.Context(), whatsapp.Template{To: "96550000000", Name: name, Language: "en"}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := <-result
	if len(msgs) != 2 || msgs[0].Name != "a" || msgs[1].Name != "b" {
		t.Errorf("WaitMessages = %+v", msgs)
	}

	// Already there: returns at once.
	if msgs, err := s.WaitMessages(t.Context(), 1); err != nil || len(msgs) != 2 {
		t.Errorf("WaitMessages(1) = %d, %v", len(msgs), err)
	}

	// Never coming: ends with the context, returning what there is.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	msgs, err := s.WaitMessages(ctx, 3)
	if !errors.Is(err, context.DeadlineExceeded) || len(msgs) != 2 {
		t.Errorf("WaitMessages(3) = %d, %v; want 2 and the deadline", len(msgs), err)
	}
}

func TestPostStatuses_Payload(t *testing.T) {
	const secret = "s3cret"
	s := fakewhatsapp.New(fakewhatsapp.Options{Token: token, PhoneNumberID: phoneID, AppSecret: secret})
	var mu sync.Mutex
	var raw []byte
	var hdr http.Header
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		raw, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
	}))
	defer endpoint.Close()

	before := time.Now().Add(-time.Second)
	err := s.PostStatuses(t.Context(), endpoint.URL,
		whatsapp.Status{MessageID: "wamid.X", Status: "delivered", RecipientID: "96550000000", Timestamp: time.Unix(1750857386, 0)},
		whatsapp.Status{MessageID: "wamid.Y", Status: "failed", RecipientID: "96550000001"},
	)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hdr.Get("X-Hub-Signature-256") != fakewhatsapp.Sign(secret, raw) || !whatsapp.VerifySignature(secret, hdr.Get("X-Hub-Signature-256"), raw) {
		t.Errorf("signature %q does not verify", hdr.Get("X-Hub-Signature-256"))
	}
	if hdr.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", hdr.Get("Content-Type"))
	}
	var w struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string `json:"id"`
			Changes []struct {
				Field string `json:"field"`
				Value struct {
					MessagingProduct string            `json:"messaging_product"`
					Metadata         map[string]string `json:"metadata"`
					Statuses         []map[string]any  `json:"statuses"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	if w.Object != "whatsapp_business_account" || len(w.Entry) != 1 || w.Entry[0].ID != fakewhatsapp.WABAID || len(w.Entry[0].Changes) != 1 {
		t.Fatalf("envelope: %s", raw)
	}
	ch := w.Entry[0].Changes[0]
	if ch.Field != "messages" || ch.Value.MessagingProduct != "whatsapp" || ch.Value.Metadata["phone_number_id"] != phoneID || len(ch.Value.Statuses) != 2 {
		t.Fatalf("change: %s", raw)
	}
	d, f := ch.Value.Statuses[0], ch.Value.Statuses[1]
	if d["id"] != "wamid.X" || d["status"] != "delivered" || d["timestamp"] != "1750857386" || d["recipient_id"] != "96550000000" || d["errors"] != nil || d["pricing"] == nil {
		t.Errorf("delivered status: %v", d)
	}
	ts, ok := f["timestamp"].(string)
	if !ok {
		t.Fatalf("timestamp is not a string: %v", f["timestamp"])
	}
	parsed, _ := whatsapp.ParseStatuses(raw)
	if len(parsed) != 2 || parsed[1].Timestamp.Before(before.Truncate(time.Second)) || parsed[1].Timestamp.After(time.Now()) {
		t.Errorf("a zero timestamp became %q, want now", ts)
	}
	errs, _ := f["errors"].([]any)
	if len(errs) != 1 || errs[0].(map[string]any)["code"] != float64(131026) || f["pricing"] != nil {
		t.Errorf("failed status without errors got %v", f)
	}
}

func TestVerifyCallback(t *testing.T) {
	s := fakewhatsapp.New(fakewhatsapp.Options{})
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.Method != http.MethodGet || q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != "verify-me":
			w.WriteHeader(http.StatusForbidden)
		case q.Get("wrong") != "":
			io.WriteString(w, q.Get("hub.challenge")+"x")
		default:
			io.WriteString(w, q.Get("hub.challenge"))
		}
	}))
	defer endpoint.Close()
	if err := s.VerifyCallback(t.Context(), endpoint.URL+"/webhooks/whatsapp", "verify-me"); err != nil {
		t.Errorf("good endpoint: %v", err)
	}
	if err := s.VerifyCallback(t.Context(), endpoint.URL, "other"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("wrong verify token: %v, want the 403", err)
	}
	if err := s.VerifyCallback(t.Context(), endpoint.URL+"?wrong=1", "verify-me"); err == nil {
		t.Error("a wrong echo passed")
	}
}
