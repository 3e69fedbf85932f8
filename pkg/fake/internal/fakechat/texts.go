package fakechat

import (
	"fmt"
	"net/http"
	"strings"
)

// ollamaBusy is Ollama's ErrMaxQueue text, with its two spaces.
const ollamaBusy = "server busy, please try again.  maximum pending requests exceeded"

// OllamaTexts are Ollama's messages (server/routes.go, server/sched.go).
var OllamaTexts = Texts{
	NotFound:      func(m string) string { return fmt.Sprintf("model %q not found, try pulling it first", m) },
	ModelNotFound: func(m string) string { return fmt.Sprintf("model '%s' not found", m) },
	NoChat:        func(m string) string { return fmt.Sprintf("%q does not support chat", m) },
	Busy:          ollamaBusy,
	MidStream:     "an error was encountered while running the model: unexpected EOF",
	Injected: func(status int) string {
		switch status {
		case http.StatusServiceUnavailable:
			return ollamaBusy
		case http.StatusInternalServerError:
			return "llama runner process has terminated: exit status 2"
		}
		return strings.ToLower(http.StatusText(status))
	},
}

const (
	openAIServerError = "The server had an error while processing your request. Sorry about that!"
	openAIBusy        = "The engine is currently overloaded, please try again later"
)

var openAITexts = Texts{
	NotFound: func(m string) string {
		return fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", m)
	},
	ModelNotFound: func(m string) string {
		return fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", m)
	},
	NoChat: func(string) string {
		return "This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to use v1/completions?"
	},
	Busy:      openAIBusy,
	MidStream: openAIServerError,
	Injected: func(status int) string {
		switch {
		case status == http.StatusTooManyRequests:
			return "Rate limit reached for requests. Please try again in 1s."
		case status == http.StatusServiceUnavailable:
			return openAIBusy
		case status >= 500:
			return openAIServerError
		}
		return http.StatusText(status)
	},
}

// openAIError is OpenAI's error body. The type and, unless f.Code is set,
// the code follow the status as OpenAI's own answers do; 429's type and code
// are the commonly logged ones (not confirmed from a primary source).
func openAIError(f Failure) []byte {
	typ, code := "invalid_request_error", f.Code
	switch {
	case f.Status == http.StatusUnauthorized && code == "":
		code = "invalid_api_key"
	case f.Status == http.StatusNotFound && code == "":
		code = "model_not_found"
	case f.Status == http.StatusTooManyRequests:
		typ = "requests"
		if code == "" {
			code = "rate_limit_exceeded"
		}
	case f.Status >= 500:
		typ = "server_error"
	}
	o := errorObject{Message: f.Message, Type: typ}
	if f.Param != "" {
		o.Param = &f.Param
	}
	if code != "" {
		o.Code = &code
	}
	return Marshal(errorBody{Error: o})
}
