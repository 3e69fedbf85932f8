package fakewhatsapp

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// The request as the fake reads it. Kept apart from pkg/whatsapp's own
// types on purpose: the fake checks the client against the contract, not
// against itself.
type sendRequest struct {
	MessagingProduct string    `json:"messaging_product"`
	RecipientType    *string   `json:"recipient_type"`
	To               string    `json:"to"`
	Type             string    `json:"type"`
	Template         *template `json:"template"`
}

type template struct {
	Name     string `json:"name"`
	Language *struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	} `json:"language"`
	Components []component `json:"components"`
}

type component struct {
	Type       string          `json:"type"`
	SubType    string          `json:"sub_type"`
	Index      json.RawMessage `json:"index"`
	Parameters []parameter     `json:"parameters"`
}

type parameter struct {
	Type string  `json:"type"`
	Text *string `json:"text"`
}

var (
	versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
	// International format, digits only: E.164 allows at most 15 digits
	// and never a leading 0.
	digitsRE = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)
)

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	if !versionRE.MatchString(r.PathValue("version")) {
		writeError(w, http.StatusBadRequest, graphError{Code: 2500, Message: "Unknown path components: " + r.URL.Path})
		return
	}
	if ge := s.authorize(r); ge != nil {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+ge.Message+`"`)
		writeError(w, http.StatusUnauthorized, *ge)
		return
	}
	if id := r.PathValue("phoneNumberID"); s.opts.PhoneNumberID != "" && id != s.opts.PhoneNumberID {
		writeError(w, http.StatusBadRequest, graphError{
			Code: 100, Subcode: 33,
			Message: fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", id),
		})
		return
	}
	if code, status, ok := s.takeFailure(); ok {
		writeError(w, status, coded(code, ""))
		return
	}

	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, invalidParam("request body: "+err.Error()))
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusBadRequest, invalidParam(fmt.Sprintf("Content-Type is %q, not application/json", ct)))
		return
	}
	var req sendRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, invalidParam("request body is not valid JSON: "+err.Error()))
		return
	}
	m, status, ge := s.check(req)
	if ge != nil {
		writeError(w, status, *ge)
		return
	}
	m.ID = newWamid()
	s.accept(m)
	writeJSON(w, http.StatusOK, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": req.To}},
		"messages":          []map[string]string{{"id": m.ID, "message_status": "accepted"}},
	})
}

// check validates a send request and returns the message it asks for, or the
// HTTP status and Graph error to answer with.
func (s *Server) check(req sendRequest) (Message, int, *graphError) {
	bad := func(details string) (Message, int, *graphError) {
		ge := invalidParam(details)
		return Message{}, http.StatusBadRequest, &ge
	}
	if req.MessagingProduct != "whatsapp" {
		return bad(`messaging_product must be "whatsapp"`)
	}
	if req.RecipientType != nil && *req.RecipientType != "individual" {
		return bad(`recipient_type must be "individual"`)
	}
	if !digitsRE.MatchString(req.To) {
		return bad(fmt.Sprintf("to %q must be the recipient's number in international format, digits only", req.To))
	}
	switch req.Type {
	case "template":
	case "text", "image", "document", "interactive":
		// Nobody ever writes to the fake's number, so no customer-service
		// window is open: only templates may be sent.
		ge := coded(131047, "")
		return Message{}, http.StatusBadRequest, &ge
	default:
		return bad(fmt.Sprintf("type %q: the fake serves template messages", req.Type))
	}
	t := req.Template
	if t == nil || t.Name == "" {
		return bad("template.name is required")
	}
	if t.Language == nil || t.Language.Code == "" {
		return bad("template.language.code is required")
	}
	if p := t.Language.Policy; p != "" && p != "deterministic" {
		return bad(`template.language.policy must be "deterministic"`)
	}
	m := Message{To: req.To, Name: t.Name, Language: t.Language.Code}

	var body []string
	var button *string
	seenBody := false
	for i, c := range t.Components {
		switch c.Type {
		case "body":
			if seenBody {
				return bad("template.components: more than one body")
			}
			seenBody = true
			for j, p := range c.Parameters {
				text, err := textParam(p)
				if err != "" {
					return bad(fmt.Sprintf("template.components[%d].parameters[%d]: %s", i, j, err))
				}
				body = append(body, text)
			}
		case "button":
			if button != nil {
				return bad("template.components: more than one button")
			}
			if c.SubType != "url" {
				return bad(fmt.Sprintf(`template.components[%d].sub_type %q: the fake serves the copy-code button, sub_type "url"`, i, c.SubType))
			}
			if string(c.Index) != `"0"` {
				return bad(fmt.Sprintf(`template.components[%d].index must be the string "0", got %s`, i, c.Index))
			}
			if len(c.Parameters) != 1 {
				return bad(fmt.Sprintf("template.components[%d]: a copy-code button takes exactly one parameter, got %d", i, len(c.Parameters)))
			}
			text, err := textParam(c.Parameters[0])
			if err != "" {
				return bad(fmt.Sprintf("template.components[%d].parameters[0]: %s", i, err))
			}
			button = &text
		default:
			return bad(fmt.Sprintf("template.components[%d].type %q: the fake serves body and button components", i, c.Type))
		}
	}
	m.BodyParams = body

	spec, known := TemplateSpec{}, false
	if s.templates != nil {
		spec, known = s.templates[templateKey{t.Name, t.Language.Code}]
		if !known {
			ge := coded(132001, fmt.Sprintf("template name (%s) does not exist in %s", t.Name, t.Language.Code))
			return Message{}, http.StatusNotFound, &ge
		}
		want := spec.BodyParams
		if spec.CopyCode {
			want = 1
		}
		if len(body) != want {
			ge := coded(132000, fmt.Sprintf("body: number of localizable_params (%d) does not match the expected number of params (%d)", len(body), want))
			return Message{}, http.StatusBadRequest, &ge
		}
		if spec.CopyCode && button == nil {
			ge := coded(131008, "buttons: the copy-code button's parameter is required for an authentication template")
			return Message{}, http.StatusBadRequest, &ge
		}
		if !spec.CopyCode && button != nil {
			ge := coded(132000, "buttons: number of localizable_params (1) does not match the expected number of params (0)")
			return Message{}, http.StatusBadRequest, &ge
		}
	}
	if button != nil {
		// The product's only URL button is the copy-code one, so without a
		// template list any button is taken for one.
		if len(body) != 1 || body[0] != *button {
			ge := coded(131009, "buttons: the copy-code button's parameter must equal the body's code")
			return Message{}, http.StatusBadRequest, &ge
		}
		m.CopyCode = *button
	}
	return m, 0, nil
}

// textParam checks one parameter: {"type":"text","text":…}, the text
// following Graph's rule for template parameters. It returns a problem, or
// "".
func textParam(p parameter) (string, string) {
	switch {
	case p.Type != "text":
		return "", fmt.Sprintf(`type %q: the fake serves "text" parameters`, p.Type)
	case p.Text == nil || strings.TrimSpace(*p.Text) == "":
		return "", "text is required"
	case strings.ContainsAny(*p.Text, "\n\r\t") || strings.Contains(*p.Text, "     "):
		return "", "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
	}
	return *p.Text, ""
}
