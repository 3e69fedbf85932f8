package notify

import (
	"encoding/json"
	"fmt"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/whatsapp"
)

// Payload is notifications.payload. Params fill the English half of a
// template (and the Arabic half too, unless ParamsAR is given); Data is
// context for people reading the outbox, never sent.
type Payload struct {
	Params   []string       `json:"params"`
	ParamsAR []string       `json:"params_ar,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
}

// ParsePayload reads a row's payload; an empty one has no parameters.
func ParsePayload(raw string) (Payload, error) {
	var p Payload
	if raw == "" {
		return p, nil
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return p, fmt.Errorf("payload is not the outbox's JSON: %w", err)
	}
	return p, nil
}

// ErrNotSendable says a job can never be sent as it is: no template for
// its event, or parameters that do not fit it. The delivery fails at
// once; an admin may retry it after fixing the template.
type ErrNotSendable struct{ Reason string }

func (e *ErrNotSendable) Error() string { return e.Reason }

// Message builds the one WhatsApp template message of a job
// (docs/notifications.md, "Sending rule"):
//
//   - a utility template, registered under its language_code, has the
//     Arabic half then the English half as its body; its parameters are
//     the Arabic half's (params_ar, else params) then the English half's
//     (params), param_count in all;
//   - an authentication template carries one code, the only parameter
//     and the copy-code button's, in the recipient's language (the
//     template row's language_code when the user's is unknown).
func Message(j Job) (whatsapp.Template, error) {
	t := j.Template
	if t == nil {
		return whatsapp.Template{}, &ErrNotSendable{Reason: fmt.Sprintf("no WhatsApp template for event %q (table whatsapp_templates)", j.Notification.Event)}
	}
	p, err := ParsePayload(j.Notification.Payload)
	if err != nil {
		return whatsapp.Template{}, &ErrNotSendable{Reason: err.Error()}
	}
	msg := whatsapp.Template{To: j.Delivery.Phone, Name: t.Name, Language: t.LanguageCode}
	switch t.Category {
	case CategoryAuthentication:
		if len(p.Params) != 1 || p.Params[0] == "" {
			return whatsapp.Template{}, &ErrNotSendable{Reason: fmt.Sprintf("authentication template %s takes exactly one code, the payload has %d parameters", t.Name, len(p.Params))}
		}
		if l := j.UserLocale; l == resayil.LocaleAR || l == resayil.LocaleEN {
			msg.Language = string(l)
		}
		msg.BodyParams = []string{p.Params[0]}
		msg.CopyCode = p.Params[0]
	case CategoryUtility:
		ar := p.ParamsAR
		if ar == nil {
			ar = p.Params
		}
		params := make([]string, 0, len(ar)+len(p.Params))
		params = append(append(params, ar...), p.Params...)
		if len(params) != t.ParamCount {
			return whatsapp.Template{}, &ErrNotSendable{Reason: fmt.Sprintf("template %s takes %d parameters, the payload gives %d (Arabic %d + English %d)",
				t.Name, t.ParamCount, len(params), len(ar), len(p.Params))}
		}
		msg.BodyParams = params
	default:
		return whatsapp.Template{}, &ErrNotSendable{Reason: fmt.Sprintf("template %s has unknown category %q", t.Name, t.Category)}
	}
	return msg, nil
}
