package fakeollama

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/resayil/portal/pkg/fake/internal/fakechat"
)

// The native API's content types, as gin writes them.
const (
	jsonType   = "application/json; charset=utf-8"
	ndjsonType = "application/x-ndjson"
)

// Synthetic timings reported in the done:true metrics, in nanoseconds.
// total_duration is the wall time of the request, at least their sum.
const (
	loadDuration         = int64(time.Millisecond)
	promptEvalPerToken   = int64(100 * time.Microsecond)
	evalDurationPerToken = int64(time.Millisecond)
)

func (s *Server) serveVersion(w http.ResponseWriter, _ *http.Request) {
	fakechat.WriteJSON(w, http.StatusOK, jsonType, map[string]string{"version": s.version})
}

type tagDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

type tagModel struct {
	Name       string     `json:"name"`
	Model      string     `json:"model"`
	ModifiedAt time.Time  `json:"modified_at"`
	Size       int64      `json:"size"`
	Digest     string     `json:"digest"`
	Details    tagDetails `json:"details"`
}

// serveTags answers /api/tags; unlike /v1/models it lists [] when empty.
func (s *Server) serveTags(w http.ResponseWriter, _ *http.Request) {
	models := []tagModel{}
	for _, m := range s.Models() {
		models = append(models, tagModel{
			Name: m.Name, Model: m.Name, ModifiedAt: m.ModifiedAt, Size: m.Size, Digest: m.Digest,
			Details: tagDetails{
				Format: m.Format, Family: m.Family, Families: []string{m.Family},
				ParameterSize: m.ParameterSize, QuantizationLevel: m.Quantization,
			},
		})
	}
	fakechat.WriteJSON(w, http.StatusOK, jsonType, map[string][]tagModel{"models": models})
}

// native is POST /api/chat.
type native struct{}

func (native) Authorize(*http.Request) *fakechat.Failure { return nil }

func (native) Texts() *fakechat.Texts { return &fakechat.OllamaTexts }

func (native) Decode(body []byte) (fakechat.Chat, *fakechat.Failure) {
	bad := func(msg string) (fakechat.Chat, *fakechat.Failure) {
		return fakechat.Chat{}, &fakechat.Failure{Status: http.StatusBadRequest, Message: msg}
	}
	if len(body) == 0 {
		return bad("missing request body")
	}
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		Stream  *bool `json:"stream"`
		Options struct {
			NumPredict int `json:"num_predict"`
		} `json:"options"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return bad(err.Error())
	}
	if req.Model == "" {
		return bad("model is required")
	}
	chat := fakechat.Chat{
		Model:     req.Model,
		Stream:    req.Stream == nil || *req.Stream, // streaming is the default
		MaxTokens: max(req.Options.NumPredict, 0),   // num_predict <= 0: no limit
	}
	for _, m := range req.Messages {
		chat.Messages = append(chat.Messages, fakechat.Message{Role: m.Role, Content: m.Content})
	}
	return chat, nil
}

func (native) Fail(w http.ResponseWriter, f fakechat.Failure) {
	fakechat.WriteJSON(w, f.Status, jsonType, map[string]string{"error": f.Message})
}

type nativeMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// nativeResponse is api.ChatResponse: the metrics are omitempty there too.
type nativeResponse struct {
	Model              string        `json:"model"`
	CreatedAt          time.Time     `json:"created_at"`
	Message            nativeMessage `json:"message"`
	DoneReason         string        `json:"done_reason,omitempty"`
	Done               bool          `json:"done"`
	TotalDuration      int64         `json:"total_duration,omitempty"`
	LoadDuration       int64         `json:"load_duration,omitempty"`
	PromptEvalCount    int           `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64         `json:"prompt_eval_duration,omitempty"`
	EvalCount          int           `json:"eval_count,omitempty"`
	EvalDuration       int64         `json:"eval_duration,omitempty"`
}

// final is the done:true response, carrying the whole content when the
// request did not stream.
func final(g *fakechat.Generation, content string) nativeResponse {
	r := nativeResponse{
		Model: g.Model, CreatedAt: time.Now().UTC(),
		Message:    nativeMessage{Role: "assistant", Content: content},
		DoneReason: g.FinishReason, Done: true,
		LoadDuration:       loadDuration,
		PromptEvalCount:    g.PromptTokens,
		PromptEvalDuration: int64(g.PromptTokens) * promptEvalPerToken,
		EvalCount:          g.CompletionTokens(),
		EvalDuration:       int64(g.CompletionTokens()) * evalDurationPerToken,
	}
	r.TotalDuration = max(int64(time.Since(g.Start)), r.LoadDuration+r.PromptEvalDuration+r.EvalDuration)
	return r
}

func (native) Respond(out *fakechat.Output, g *fakechat.Generation) error {
	if !g.Stream {
		return out.JSON(jsonType, final(g, g.Content()))
	}
	out.Header().Set("Content-Type", ndjsonType)
	line := func(v any) []byte { return append(fakechat.Marshal(v), '\n') }
	err := out.Pieces(g, func(p string) []byte {
		return line(nativeResponse{Model: g.Model, CreatedAt: time.Now().UTC(), Message: nativeMessage{Role: "assistant", Content: p}})
	})
	if errors.Is(err, fakechat.ErrMidStream) {
		// Once the 200 is out, a runner error is one more line.
		if err := out.Send(line(map[string]string{"error": fakechat.OllamaTexts.MidStream})); err != nil {
			return err
		}
		return fakechat.ErrMidStream
	}
	if err != nil {
		return err
	}
	return out.Send(line(final(g, "")))
}
