// Package fakewhatsapp is a contract-exact fake of the WhatsApp Business
// Cloud API (Meta Graph) send endpoint and of Meta's status webhooks, for
// tests and local development (pkg/cmd/fakewhatsapp).
//
// It serves
//
//	POST /{version}/{phone-number-id}/messages
//
// with Bearer auth, and answers as Graph does: 200
// {"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],
// "messages":[{"id":"wamid.…","message_status":"accepted"}]}, or a coded
// error {"error":{"message","type","code","error_data":{"messaging_product",
// "details"},"fbtrace_id"}} with a realistic HTTP status: 401 and code 190
// for a missing, wrong or replaced token; 400 and code 100 (subcode 33) for
// another phone number id; 400 and code 100 for a malformed request; 400 and
// 131047 (re-engagement) for a free-form text message, since no user ever
// wrote to the fake, so no 24-hour window is open; when Options.Templates is
// set, 404 and 132001 for an unknown template name or language and 400 and
// 132000 for a wrong parameter count. Unknown paths get Graph's code 2500.
//
// It checks requests more strictly than Meta where the product's contract
// is stricter: "to" must be digits only, every parameter a non-empty "text"
// without new-lines, tabs or 5 spaces in a row, and an authentication
// template's copy-code button ("type":"button","sub_type":"url",
// "index":"0") must carry the very code of the body's one parameter.
//
// PostStatuses plays Meta's side of the status webhooks: signed with
// X-Hub-Signature-256, in any order a test gives, failed ones with errors[];
// VerifyCallback plays the GET hub.challenge subscription handshake.
//
// Production code must never import this package.
package fakewhatsapp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// TemplateSpec is one approved template in one language.
type TemplateSpec struct {
	Name, Language string
	BodyParams     int
	CopyCode       bool // an authentication template (body has 1 param, and the button param must equal it)
}

// Options configures New. Empty Token accepts any non-empty bearer token;
// empty PhoneNumberID accepts any id; empty AppSecret sends webhooks
// unsigned (for tests of the refusal).
type Options struct {
	Token, PhoneNumberID, AppSecret string
	Templates                       []TemplateSpec // nil: accept any template (development); otherwise unknown name/language → 132001, wrong count → 132000
}

// Message is one accepted message.
type Message struct {
	ID, To, Name, Language string
	BodyParams             []string
	CopyCode               string
}

// Server is the fake Graph API. It is an http.Handler (serve it with
// httptest.NewServer or http.Server); all methods are safe for concurrent
// use.
type Server struct {
	opts      Options
	templates map[templateKey]TemplateSpec
	mux       *http.ServeMux
	client    *http.Client

	mu       sync.Mutex
	token    string
	oldToken map[string]bool
	messages []Message
	changed  chan struct{} // closed and replaced whenever a message is accepted
	failLeft int
	failCode int
	failHTTP int
}

type templateKey struct{ name, language string }

// New returns a fake Graph API configured by opts.
func New(opts Options) *Server {
	s := &Server{
		opts:     opts,
		token:    opts.Token,
		oldToken: map[string]bool{},
		changed:  make(chan struct{}),
		client:   &http.Client{Timeout: webhookTimeout},
	}
	if opts.Templates != nil {
		s.templates = make(map[templateKey]TemplateSpec, len(opts.Templates))
		for _, t := range opts.Templates {
			s.templates[templateKey{t.Name, t.Language}] = t
		}
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /{version}/{phoneNumberID}/messages", s.handleMessages)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusBadRequest, graphError{
			Code:    2500,
			Message: "Unknown path components: " + r.URL.Path,
		})
	})
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Messages returns the accepted messages in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.copyMessages()
}

func (s *Server) copyMessages() []Message {
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.BodyParams = append([]string(nil), m.BodyParams...)
		out[i] = m
	}
	return out
}

// WaitMessages blocks until n messages were accepted, and returns all
// accepted so far. When ctx ends first it returns those accepted so far
// and an error.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			out := s.copyMessages()
			s.mu.Unlock()
			return out, nil
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			got := s.Messages()
			return got, fmt.Errorf("fakewhatsapp: %d of %d messages accepted: %w", len(got), n, ctx.Err())
		}
	}
}

// FailNext makes the next n sends that pass authentication get this coded
// Graph error with this HTTP status (Graph's message and details for the
// code when the fake knows them).
func (s *Server) FailNext(n, code, httpStatus int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failCode, s.failHTTP = n, code, httpStatus
}

// SetToken replaces the accepted token: the previous one now gets code 190
// (401), "session has expired", as a rotated or revoked token does.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" {
		s.oldToken[s.token] = true
	}
	s.token = token
}

// authorize checks the bearer token; it returns the error to answer with, or
// nil.
func (s *Server) authorize(r *http.Request) *graphError {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	want, old := s.token, s.oldToken[got]
	s.mu.Unlock()
	switch {
	case !ok || got == "":
		return &graphError{Code: 190, Message: "An access token is required to request this resource."}
	case old && got != want:
		return &graphError{Code: 190, Subcode: 463, Message: "Error validating access token: Session has expired."}
	case want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1:
		return &graphError{Code: 190, Message: "Invalid OAuth access token - Cannot parse access token"}
	}
	return nil
}

// takeFailure consumes one injected failure, if any is armed.
func (s *Server) takeFailure() (code, status int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLeft <= 0 {
		return 0, 0, false
	}
	s.failLeft--
	return s.failCode, s.failHTTP, true
}

func (s *Server) accept(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// newWamid returns an id shaped like Meta's: "wamid." and base64.
func newWamid() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}
