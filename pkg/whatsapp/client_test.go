package whatsapp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/pkg/whatsapp"
)

const (
	testToken   = "test-token"
	testPhoneID = "106540352242922"
	testVersion = "v23.0"
)

var testTemplates = []fakewhatsapp.TemplateSpec{
	{Name: "credits_low", Language: "ar", BodyParams: 2},
	{Name: "credits_low", Language: "en", BodyParams: 2},
	{Name: "payment_received", Language: "en", BodyParams: 0},
	{Name: "resayil_reset_code", Language: "ar", CopyCode: true},
}

// recorded is one request as it reached the fake.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

type harness struct {
	fake *fakewhatsapp.Server
	url  string

	mu   sync.Mutex
	reqs []recorded
}

func (h *harness) requests() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recorded(nil), h.reqs...)
}

// newHarness serves a fake Graph API over real HTTP, recording each raw
// request on the way in.
func newHarness(t *testing.T, opts fakewhatsapp.Options) *harness {
	t.Helper()
	h := &harness{fake: fakewhatsapp.New(opts)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), body})
		h.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

func defaultOptions() fakewhatsapp.Options {
	return fakewhatsapp.Options{Token: testToken, PhoneNumberID: testPhoneID, Templates: testTemplates}
}

func (h *harness) client(token string) *whatsapp.Client {
	return whatsapp.New(whatsapp.Config{BaseURL: h.url + "/", APIVersion: testVersion, PhoneNumberID: testPhoneID, Token: token})
}

// decodeJSON turns a body into generic JSON, so it can be compared with the
// contract's literal.
func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, b)
	}
	return v
}

func TestSendTemplate_RequestFollowsContract(t *testing.T) {
	h := newHarness(t, defaultOptions())
	id, err := h.client(testToken).SendTemplate(t.Context(), whatsapp.Template{
		To: "+96550000000", Name: "credits_low", Language: "ar", BodyParams: []string{"أحمد", "120"},
	})
	if err != nil {
		t.Fatalf("SendTemplate: %v", err)
	}

	reqs := h.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests reached Graph, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v23.0/"+testPhoneID+"/messages" {
		t.Errorf("request line = %s %s, want POST /v23.0/%s/messages", r.Method, r.Path, testPhoneID)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	want := decodeJSON(t, []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"96550000000","type":"template",
		"template":{"name":"credits_low","language":{"code":"ar"},
		  "components":[{"type":"body","parameters":[{"type":"text","text":"أحمد"},{"type":"text","text":"120"}]}]}}`))
	if got := decodeJSON(t, r.Body); !reflect.DeepEqual(got, want) {
		t.Errorf("body =\n%s\nwant the contract's\n%v", r.Body, want)
	}

	msgs := h.fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("fake accepted %d messages, want 1", len(msgs))
	}
	wantMsg := fakewhatsapp.Message{ID: id, To: "96550000000", Name: "credits_low", Language: "ar", BodyParams: []string{"أحمد", "120"}}
	if !reflect.DeepEqual(msgs[0], wantMsg) {
		t.Errorf("accepted %+v, want %+v", msgs[0], wantMsg)
	}
	if !strings.HasPrefix(id, "wamid.") || len(id) < 20 {
		t.Errorf("message id %q is not a wamid", id)
	}
}

func TestSendTemplate_NoParameters(t *testing.T) {
	h := newHarness(t, defaultOptions())
	if _, err := h.client(testToken).SendTemplate(t.Context(), whatsapp.Template{To: "96550000000", Name: "payment_received", Language: "en"}); err != nil {
		t.Fatalf("SendTemplate: %v", err)
	}
	want := decodeJSON(t, []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"96550000000","type":"template",
		"template":{"name":"payment_received","language":{"code":"en"}}}`))
	if got := decodeJSON(t, h.requests()[0].Body); !reflect.DeepEqual(got, want) {
		t.Errorf("body = %s, want %v", h.requests()[0].Body, want)
	}
}

func TestSendTemplate_AuthenticationTemplate(t *testing.T) {
	h := newHarness(t, defaultOptions())
	c := h.client(testToken)
	for _, tmpl := range []whatsapp.Template{
		{To: "96550000000", Name: "resayil_reset_code", Language: "ar", CopyCode: "482913"},
		{To: "96550000000", Name: "resayil_reset_code", Language: "ar", CopyCode: "482913", BodyParams: []string{"482913"}},
	} {
		if _, err := c.SendTemplate(t.Context(), tmpl); err != nil {
			t.Fatalf("SendTemplate(%+v): %v", tmpl, err)
		}
	}
	want := decodeJSON(t, []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"96550000000","type":"template",
		"template":{"name":"resayil_reset_code","language":{"code":"ar"},
		  "components":[{"type":"body","parameters":[{"type":"text","text":"482913"}]},
		                {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"482913"}]}]}}`))
	for i, r := range h.requests() {
		if got := decodeJSON(t, r.Body); !reflect.DeepEqual(got, want) {
			t.Errorf("request %d body = %s, want %v", i, r.Body, want)
		}
	}
	msgs := h.fake.Messages()
	if len(msgs) != 2 || msgs[0].CopyCode != "482913" || !reflect.DeepEqual(msgs[0].BodyParams, []string{"482913"}) {
		t.Errorf("accepted %+v", msgs)
	}
}

func TestSendTemplate_DigitsOnlyRecipient(t *testing.T) {
	h := newHarness(t, fakewhatsapp.Options{Token: testToken})
	c := h.client(testToken)
	for _, to := range []string{"+96550000000", "96550000000", " +965 5000-0000 ", "+1 (555) 010.0000"} {
		if _, err := c.SendTemplate(t.Context(), whatsapp.Template{To: to, Name: "x", Language: "en"}); err != nil {
			t.Errorf("SendTemplate to %q: %v", to, err)
		}
	}
	var got []string
	for _, m := range h.fake.Messages() {
		got = append(got, m.To)
	}
	want := []string{"96550000000", "96550000000", "96550000000", "15550100000"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recipients sent = %q, want %q", got, want)
	}
}

func TestSendTemplate_InvalidMessageNeverSent(t *testing.T) {
	h := newHarness(t, defaultOptions())
	c := h.client(testToken)
	for name, tmpl := range map[string]whatsapp.Template{
		"letters in number":    {To: "+965abc00000", Name: "credits_low", Language: "ar"},
		"national number":      {To: "050000000", Name: "credits_low", Language: "ar"},
		"00 prefix":            {To: "0096550000000", Name: "credits_low", Language: "ar"},
		"too long":             {To: "+1234567890123456", Name: "credits_low", Language: "ar"},
		"too short":            {To: "+123", Name: "credits_low", Language: "ar"},
		"empty number":         {To: "", Name: "credits_low", Language: "ar"},
		"no name":              {To: "96550000000", Language: "ar"},
		"no language":          {To: "96550000000", Name: "credits_low"},
		"empty parameter":      {To: "96550000000", Name: "credits_low", Language: "ar", BodyParams: []string{"a", " "}},
		"new-line parameter":   {To: "96550000000", Name: "credits_low", Language: "ar", BodyParams: []string{"a\nb", "c"}},
		"tab parameter":        {To: "96550000000", Name: "credits_low", Language: "ar", BodyParams: []string{"a\tb", "c"}},
		"5 spaces parameter":   {To: "96550000000", Name: "credits_low", Language: "ar", BodyParams: []string{"a     b", "c"}},
		"code and other param": {To: "96550000000", Name: "resayil_reset_code", Language: "ar", CopyCode: "1", BodyParams: []string{"2"}},
		"code and 2 params":    {To: "96550000000", Name: "resayil_reset_code", Language: "ar", CopyCode: "1", BodyParams: []string{"1", "1"}},
		"code too long":        {To: "96550000000", Name: "resayil_reset_code", Language: "ar", CopyCode: "1234567890123456"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.SendTemplate(t.Context(), tmpl)
			if !errors.Is(err, whatsapp.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if got := whatsapp.Classify(err); got != whatsapp.Permanent {
				t.Errorf("Classify = %v, want permanent", got)
			}
		})
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("%d invalid messages reached Graph", n)
	}
}

func TestSendTemplate_NotConfigured(t *testing.T) {
	h := newHarness(t, defaultOptions())
	for name, cfg := range map[string]whatsapp.Config{
		"no token":    {BaseURL: h.url, APIVersion: testVersion, PhoneNumberID: testPhoneID},
		"no phone id": {BaseURL: h.url, APIVersion: testVersion, Token: testToken},
		"no version":  {BaseURL: h.url, PhoneNumberID: testPhoneID, Token: testToken},
		"no base URL": {APIVersion: testVersion, PhoneNumberID: testPhoneID, Token: testToken},
	} {
		_, err := whatsapp.New(cfg).SendTemplate(t.Context(), whatsapp.Template{To: "96550000000", Name: "credits_low", Language: "en", BodyParams: []string{"a", "b"}})
		if !errors.Is(err, whatsapp.ErrNotConfigured) || whatsapp.Classify(err) != whatsapp.Paused {
			t.Errorf("%s: err = %v (class %v), want ErrNotConfigured, paused", name, err, whatsapp.Classify(err))
		}
	}
	if n := len(h.requests()); n != 0 {
		t.Errorf("%d requests reached Graph", n)
	}
}

// graphErr sends one message that the fake refuses and returns the *Error.
func graphErr(t *testing.T, c *whatsapp.Client, tmpl whatsapp.Template) *whatsapp.Error {
	t.Helper()
	_, err := c.SendTemplate(t.Context(), tmpl)
	var ge *whatsapp.Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v (%T), want a *whatsapp.Error", err, err)
	}
	return ge
}

var lowCredits = whatsapp.Template{To: "96550000000", Name: "credits_low", Language: "en", BodyParams: []string{"Ahmad", "120"}}

func TestSendTemplate_GraphErrors(t *testing.T) {
	for _, tc := range []struct {
		code, status int
		want         whatsapp.Class
		details      string // a piece of error_data.details, "" when Graph sends none
	}{
		{130429, 429, whatsapp.Retry, "too many messages sent from this phone number"},
		{130429, 400, whatsapp.Retry, "too many messages"},
		{131056, 400, whatsapp.Retry, "to the same phone number"},
		{131057, 503, whatsapp.Retry, "maintenance"},
		{131000, 500, whatsapp.Retry, "unknown error"},
		{131047, 400, whatsapp.Permanent, "24 hours"},
		{131026, 400, whatsapp.Permanent, "Unable to deliver"},
		{131048, 400, whatsapp.Permanent, "restrictions"},
		{131049, 400, whatsapp.Permanent, "healthy ecosystem"},
		{100, 400, whatsapp.Permanent, ""},
		{190, 401, whatsapp.Paused, ""},
		{0, 401, whatsapp.Paused, "unable to authenticate"},
		{10, 403, whatsapp.Paused, "Permission"},
		{200, 403, whatsapp.Paused, "permission"},
		{368, 400, whatsapp.Paused, "restricted"},
		{131031, 400, whatsapp.Paused, "locked"},
		{999999, 400, whatsapp.Permanent, ""},
		{999999, 503, whatsapp.Retry, ""},
		{999999, 403, whatsapp.Paused, ""},
	} {
		h := newHarness(t, defaultOptions())
		h.fake.FailNext(1, tc.code, tc.status)
		c := h.client(testToken)
		ge := graphErr(t, c, lowCredits)
		if ge.Code != tc.code || ge.HTTPStatus != tc.status || ge.Type != "OAuthException" || ge.FBTraceID == "" || ge.Message == "" {
			t.Errorf("%d/%d: error = %+v", tc.code, tc.status, ge)
		}
		if !strings.Contains(ge.Details, tc.details) || (tc.details == "") != (ge.Details == "") {
			t.Errorf("%d: details = %q, want one containing %q", tc.code, ge.Details, tc.details)
		}
		if got := whatsapp.Classify(ge); got != tc.want {
			t.Errorf("%d/%d: Classify = %v, want %v", tc.code, tc.status, got, tc.want)
		}
		// The failure was for the next send only.
		if _, err := c.SendTemplate(t.Context(), lowCredits); err != nil {
			t.Errorf("%d: send after the injected failure: %v", tc.code, err)
		}
		if n := len(h.fake.Messages()); n != 1 {
			t.Errorf("%d: fake accepted %d messages, want 1", tc.code, n)
		}
	}
}

func TestSendTemplate_FailNextCountsDown(t *testing.T) {
	h := newHarness(t, defaultOptions())
	h.fake.FailNext(2, 130429, 429)
	c := h.client(testToken)
	var codes []int
	for range 3 {
		_, err := c.SendTemplate(t.Context(), lowCredits)
		var ge *whatsapp.Error
		if errors.As(err, &ge) {
			codes = append(codes, ge.Code)
		} else if err != nil {
			t.Fatal(err)
		} else {
			codes = append(codes, 0)
		}
	}
	if !reflect.DeepEqual(codes, []int{130429, 130429, 0}) {
		t.Errorf("codes = %v, want two failures then a success", codes)
	}
}

func TestSendTemplate_WrongToken(t *testing.T) {
	h := newHarness(t, defaultOptions())
	ge := graphErr(t, h.client("not-the-token"), lowCredits)
	if ge.Code != 190 || ge.HTTPStatus != http.StatusUnauthorized || ge.Type != "OAuthException" {
		t.Errorf("error = %+v, want 190, 401, OAuthException", ge)
	}
	if whatsapp.Classify(ge) != whatsapp.Paused {
		t.Errorf("Classify = %v, want paused", whatsapp.Classify(ge))
	}
	if len(h.fake.Messages()) != 0 {
		t.Error("a message with a wrong token was accepted")
	}
	// Auth is checked before injected failures.
	h.fake.FailNext(1, 131047, 400)
	if ge := graphErr(t, h.client("not-the-token"), lowCredits); ge.Code != 190 {
		t.Errorf("wrong token with a failure armed: code %d, want 190", ge.Code)
	}
}

func TestSendTemplate_RotatedToken(t *testing.T) {
	h := newHarness(t, defaultOptions())
	old := h.client(testToken)
	if _, err := old.SendTemplate(t.Context(), lowCredits); err != nil {
		t.Fatal(err)
	}
	h.fake.SetToken("new-token")
	ge := graphErr(t, old, lowCredits)
	if ge.Code != 190 || ge.HTTPStatus != 401 || !strings.Contains(ge.Message, "expired") {
		t.Errorf("old token: %+v, want 190, 401, expired", ge)
	}
	if whatsapp.Classify(ge) != whatsapp.Paused {
		t.Errorf("Classify = %v", whatsapp.Classify(ge))
	}
	if _, err := h.client("new-token").SendTemplate(t.Context(), lowCredits); err != nil {
		t.Errorf("new token: %v", err)
	}
}

func TestSendTemplate_TemplateErrors(t *testing.T) {
	h := newHarness(t, defaultOptions())
	c := h.client(testToken)
	for _, tc := range []struct {
		name         string
		tmpl         whatsapp.Template
		code, status int
	}{
		{"unknown name", whatsapp.Template{To: "96550000000", Name: "nope", Language: "en"}, 132001, 404},
		{"missing translation", whatsapp.Template{To: "96550000000", Name: "payment_received", Language: "ar"}, 132001, 404},
		{"too few params", whatsapp.Template{To: "96550000000", Name: "credits_low", Language: "en", BodyParams: []string{"a"}}, 132000, 400},
		{"too many params", whatsapp.Template{To: "96550000000", Name: "credits_low", Language: "en", BodyParams: []string{"a", "b", "c"}}, 132000, 400},
		{"auth template without code", whatsapp.Template{To: "96550000000", Name: "resayil_reset_code", Language: "ar", BodyParams: []string{"482913"}}, 131008, 400},
		{"code on a plain template", whatsapp.Template{To: "96550000000", Name: "payment_received", Language: "en", CopyCode: "1"}, 132000, 400},
	} {
		ge := graphErr(t, c, tc.tmpl)
		if ge.Code != tc.code || ge.HTTPStatus != tc.status || ge.Details == "" {
			t.Errorf("%s: %+v, want code %d http %d with details", tc.name, ge, tc.code, tc.status)
		}
		if whatsapp.Classify(ge) != whatsapp.Permanent {
			t.Errorf("%s: Classify = %v, want permanent", tc.name, whatsapp.Classify(ge))
		}
	}
	if n := len(h.fake.Messages()); n != 0 {
		t.Errorf("fake accepted %d refused messages", n)
	}
}

func TestSendTemplate_WrongPhoneNumberID(t *testing.T) {
	h := newHarness(t, defaultOptions())
	c := whatsapp.New(whatsapp.Config{BaseURL: h.url, APIVersion: testVersion, PhoneNumberID: "123", Token: testToken})
	ge := graphErr(t, c, lowCredits)
	if ge.Code != 100 || ge.Subcode != 33 || ge.HTTPStatus != 400 {
		t.Errorf("error = %+v, want 100/33, 400", ge)
	}
	if whatsapp.Classify(ge) != whatsapp.Paused {
		t.Errorf("Classify = %v, want paused: every message would fail", whatsapp.Classify(ge))
	}
}

func TestSendTemplate_NonGraphAnswers(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   whatsapp.Class
	}{
		{502, "<html>Bad Gateway</html>", whatsapp.Retry},
		{503, "", whatsapp.Retry},
		{429, "slow down", whatsapp.Retry},
		{401, "", whatsapp.Paused},
		{404, "not found", whatsapp.Permanent},
		{400, `{"error":{"message":"no code"}}`, whatsapp.Permanent},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		c := whatsapp.New(whatsapp.Config{BaseURL: srv.URL, APIVersion: testVersion, PhoneNumberID: testPhoneID, Token: testToken})
		ge := graphErr(t, c, lowCredits)
		srv.Close()
		if ge.HTTPStatus != tc.status || ge.Code != 0 || ge.Type != "" {
			t.Errorf("%d: error = %+v", tc.status, ge)
		}
		if got := whatsapp.Classify(ge); got != tc.want {
			t.Errorf("%d %q: Classify = %v, want %v", tc.status, tc.body, got, tc.want)
		}
		if want := "whatsapp: http " + strconv.Itoa(tc.status); !strings.HasPrefix(ge.Error(), want) {
			t.Errorf("Error() = %q", ge.Error())
		}
	}
}

func TestSendTemplate_GarbledSuccess(t *testing.T) {
	for _, body := range []string{`not json`, `{"messages":[]}`, `{"messages":[{"id":""}]}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, body)
		}))
		c := whatsapp.New(whatsapp.Config{BaseURL: srv.URL, APIVersion: testVersion, PhoneNumberID: testPhoneID, Token: testToken})
		id, err := c.SendTemplate(t.Context(), lowCredits)
		srv.Close()
		if err == nil || id != "" {
			t.Errorf("%s: id %q, err %v; want an error", body, id, err)
		}
		if whatsapp.Classify(err) != whatsapp.Retry {
			t.Errorf("%s: Classify = %v, want retry", body, whatsapp.Classify(err))
		}
	}
}

func TestSendTemplate_NetworkErrorsRetry(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c := whatsapp.New(whatsapp.Config{BaseURL: url, APIVersion: testVersion, PhoneNumberID: testPhoneID, Token: testToken})
		_, err := c.SendTemplate(t.Context(), lowCredits)
		if err == nil || whatsapp.Classify(err) != whatsapp.Retry {
			t.Errorf("err = %v, class %v; want retry", err, whatsapp.Classify(err))
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("error leaks the token: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		c := whatsapp.New(whatsapp.Config{BaseURL: srv.URL, APIVersion: testVersion, PhoneNumberID: testPhoneID, Token: testToken,
			HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
		_, err := c.SendTemplate(t.Context(), lowCredits)
		if err == nil || whatsapp.Classify(err) != whatsapp.Retry {
			t.Errorf("err = %v, class %v; want retry", err, whatsapp.Classify(err))
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		h := newHarness(t, defaultOptions())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := h.client(testToken).SendTemplate(ctx, lowCredits)
		if !errors.Is(err, context.Canceled) || whatsapp.Classify(err) != whatsapp.Retry {
			t.Errorf("err = %v, want context.Canceled, retry", err)
		}
	})
}

func TestSendTemplate_Concurrent(t *testing.T) {
	h := newHarness(t, defaultOptions())
	c := h.client(testToken)
	const n = 20
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			id, err := c.SendTemplate(t.Context(), lowCredits)
			if err != nil {
				t.Error(err)
			}
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("message id %q given twice", id)
		}
		seen[id] = true
	}
	msgs, err := h.fake.WaitMessages(t.Context(), n)
	if err != nil || len(msgs) != n {
		t.Errorf("WaitMessages: %d messages, %v", len(msgs), err)
	}
}
