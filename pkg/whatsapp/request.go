package whatsapp

import (
	"fmt"
	"strings"
)

// The JSON of POST /{version}/{phone-number-id}/messages for a template
// message. Only what the product sends is modelled.
type sendRequest struct {
	MessagingProduct string       `json:"messaging_product"` // always "whatsapp"
	RecipientType    string       `json:"recipient_type"`    // always "individual"
	To               string       `json:"to"`
	Type             string       `json:"type"` // "template"
	Template         templateJSON `json:"template"`
}

type templateJSON struct {
	Name       string          `json:"name"`
	Language   languageJSON    `json:"language"`
	Components []componentJSON `json:"components,omitempty"`
}

type languageJSON struct {
	Code string `json:"code"`
}

type componentJSON struct {
	Type       string          `json:"type"`               // "body", "button"
	SubType    string          `json:"sub_type,omitempty"` // buttons: "url" for the copy-code button
	Index      string          `json:"index,omitempty"`    // buttons: a string, "0"
	Parameters []parameterJSON `json:"parameters"`
}

type parameterJSON struct {
	Type string `json:"type"` // "text"
	Text string `json:"text"`
}

type sendResponse struct {
	Messages []struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status"`
	} `json:"messages"`
}

// maxCopyCode is the longest code an authentication template's copy-code
// button takes (Meta: up to 15 characters).
const maxCopyCode = 15

// templateRequest checks t and builds its request. Everything Graph would
// refuse for the message's own sake is refused here first, with the field
// named, so a bad message fails fast and clearly as ErrInvalid (Permanent).
func templateRequest(t Template) (sendRequest, error) {
	to, err := Digits(t.To)
	if err != nil {
		return sendRequest{}, err
	}
	if strings.TrimSpace(t.Name) == "" {
		return sendRequest{}, fmt.Errorf("%w: template name is empty", ErrInvalid)
	}
	if strings.TrimSpace(t.Language) == "" {
		return sendRequest{}, fmt.Errorf("%w: template %q: language is empty", ErrInvalid, t.Name)
	}
	params := t.BodyParams
	if t.CopyCode != "" {
		// An authentication template's body is "<code> is your
		// verification code." (one parameter), and its copy-code button
		// carries the same code.
		if len(params) == 0 {
			params = []string{t.CopyCode}
		}
		if len(params) != 1 || params[0] != t.CopyCode {
			return sendRequest{}, fmt.Errorf("%w: template %q: an authentication template's only body parameter is its copy code", ErrInvalid, t.Name)
		}
		if len(t.CopyCode) > maxCopyCode {
			return sendRequest{}, fmt.Errorf("%w: template %q: copy code is longer than %d characters", ErrInvalid, t.Name, maxCopyCode)
		}
	}
	for i, p := range params {
		if err := checkParam(p); err != nil {
			return sendRequest{}, fmt.Errorf("%w: template %q: body parameter {{%d}}: %v", ErrInvalid, t.Name, i+1, err)
		}
	}

	req := sendRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		To:               to,
		Type:             "template",
		Template: templateJSON{
			Name:     t.Name,
			Language: languageJSON{Code: t.Language},
		},
	}
	if len(params) > 0 {
		req.Template.Components = append(req.Template.Components, componentJSON{Type: "body", Parameters: textParams(params)})
	}
	if t.CopyCode != "" {
		req.Template.Components = append(req.Template.Components, componentJSON{
			Type: "button", SubType: "url", Index: "0",
			Parameters: textParams([]string{t.CopyCode}),
		})
	}
	return req, nil
}

func textParams(texts []string) []parameterJSON {
	ps := make([]parameterJSON, len(texts))
	for i, s := range texts {
		ps[i] = parameterJSON{Type: "text", Text: s}
	}
	return ps
}

// checkParam applies Graph's rule for template parameter text: not empty, no
// new-line or tab characters, and no more than 4 consecutive spaces.
func checkParam(p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return fmt.Errorf("empty")
	case strings.ContainsAny(p, "\n\r\t"):
		return fmt.Errorf("contains a new-line or tab character")
	case strings.Contains(p, "     "):
		return fmt.Errorf("contains more than 4 consecutive spaces")
	}
	return nil
}

// Digits turns a phone number in international format ("+965 5000-0000",
// "96550000000") into the digits-only form Graph takes as "to" and reports
// as recipient_id. Spaces, dashes, dots and brackets are dropped; a leading
// "0" is refused, because a national or "00"-prefixed number sent as-is
// would reach the wrong person or no one. The error wraps ErrInvalid.
func Digits(phone string) (string, error) {
	s := strings.TrimSpace(phone)
	s = strings.TrimPrefix(s, "+")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: recipient %q is not a phone number in international format", ErrInvalid, phone)
		}
	}
	d := b.String()
	// E.164: at most 15 digits, country code included; the shortest
	// numbers in use have 7.
	if len(d) < 7 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%w: recipient %q is not a phone number in international format", ErrInvalid, phone)
	}
	return d, nil
}
