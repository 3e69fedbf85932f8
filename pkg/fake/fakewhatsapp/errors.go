package fakewhatsapp

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
)

// graphError is one Graph error answer before it is written.
type graphError struct {
	Code    int
	Subcode int
	Message string
	Details string // error_data.details; WhatsApp errors carry it, OAuth ones do not
}

// knownErrors are Graph's titles and details for the codes tests inject
// (Meta's error-code table); the message reads "(#code) title".
var knownErrors = map[int]struct{ title, details string }{
	0:      {"AuthException", "We were unable to authenticate the app user."},
	3:      {"Capability or permissions issue", "The app does not have the capability or permission to call this method."},
	4:      {"Too many calls", "The app has reached its API call rate limit."},
	10:     {"Permission denied", "Permission is either not granted or has been removed."},
	100:    {"Invalid parameter", ""},
	190:    {"Access token has expired", ""},
	200:    {"Permissions error", "The permission is either not granted or has been removed."},
	368:    {"Temporarily blocked for policies violations", "The WhatsApp Business Account is restricted from messaging due to violations of policy."},
	130429: {"Rate limit hit", "Message failed to send because there were too many messages sent from this phone number in a short period of time"},
	131000: {"Something went wrong", "Message failed to send due to an unknown error."},
	131008: {"Required parameter is missing", ""},
	131009: {"Parameter value is not valid", ""},
	131016: {"Service unavailable", "A service is temporarily unavailable."},
	131026: {"Message undeliverable", "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; the recipient has not accepted the new Terms of Service; the recipient is using an old WhatsApp version."},
	131031: {"Account has been locked", "The business account was locked because of a policy violation or because the data it gave could not be verified."},
	131047: {"Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
	131048: {"Spam rate limit hit", "Message failed to send because there are restrictions on how many messages can be sent from this phone number."},
	131049: {"This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
	131056: {"(Business Account, Consumer Account) pair rate limit hit", "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."},
	131057: {"Account in maintenance mode", "The business account is in maintenance mode, for example while its throughput is upgraded."},
	132000: {"Number of parameters does not match the expected number of params", ""},
	132001: {"Template name does not exist in the translation", ""},
	133004: {"Server temporarily unavailable", "The server is temporarily unavailable."},
}

// coded returns Graph's error for code, with details when given, else the
// code's usual details.
func coded(code int, details string) graphError {
	k, ok := knownErrors[code]
	if !ok {
		k.title = "Error"
	}
	if details == "" {
		details = k.details
	}
	return graphError{Code: code, Message: fmt.Sprintf("(#%d) %s", code, k.title), Details: details}
}

func invalidParam(details string) graphError { return coded(100, details) }

// writeError writes ge in Graph's shape:
// {"error":{"message","type","code","error_subcode","error_data":{"messaging_product","details"},"fbtrace_id"}}.
func writeError(w http.ResponseWriter, status int, ge graphError) {
	body := map[string]any{
		"message":    ge.Message,
		"type":       "OAuthException",
		"code":       ge.Code,
		"fbtrace_id": fbtraceID(),
	}
	if ge.Subcode != 0 {
		body["error_subcode"] = ge.Subcode
	}
	if ge.Details != "" {
		body["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": ge.Details}
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// fbtraceID is shaped like Graph's: 23 characters of letters and digits.
func fbtraceID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 23)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "A" + string(b[1:])
}
