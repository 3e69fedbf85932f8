package fakechat

import (
	"encoding/json"
	"errors"
	"net/http"
)

// OpenAI's shapes (openai-python types/chat). With include_usage every
// chunk carries "usage":null until the usage chunk; without it there is no
// usage key at all.

const openAIFingerprint = "fp_fakecloud"

var jsonNull = json.RawMessage("null")

type openAIUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

type openAIMessage struct {
	Role        string          `json:"role"`
	Content     string          `json:"content"`
	Refusal     json.RawMessage `json:"refusal"`
	Annotations []any           `json:"annotations"`
}

type openAIChoice struct {
	Index        int             `json:"index"`
	Message      openAIMessage   `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type openAICompletion struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	Choices           []openAIChoice `json:"choices"`
	Usage             *openAIUsage   `json:"usage,omitempty"` // always set, but under OmitUsage
	ServiceTier       string         `json:"service_tier"`
	SystemFingerprint string         `json:"system_fingerprint"`
}

type openAIDelta struct {
	Role    string          `json:"role,omitempty"`
	Content *string         `json:"content,omitempty"`
	Refusal json.RawMessage `json:"refusal,omitempty"`
}

type openAIChunkChoice struct {
	Index        int             `json:"index"`
	Delta        openAIDelta     `json:"delta"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

type openAIChunk struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	Created           int64               `json:"created"`
	Model             string              `json:"model"`
	ServiceTier       string              `json:"service_tier"`
	SystemFingerprint string              `json:"system_fingerprint"`
	Choices           []openAIChunkChoice `json:"choices"`
	Usage             json.RawMessage     `json:"usage,omitempty"`
}

func openAIUsageOf(g *Generation) openAIUsage {
	n := g.CompletionTokens()
	return openAIUsage{PromptTokens: g.PromptTokens, CompletionTokens: n, TotalTokens: g.PromptTokens + n}
}

func respondOpenAI(out *Output, g *Generation) error {
	if !g.Stream {
		var u *openAIUsage
		if !g.NoUsage {
			uu := openAIUsageOf(g)
			u = &uu
		}
		return out.JSON("application/json", openAICompletion{
			ID: g.ID(), Object: "chat.completion", Created: g.Created.Unix(), Model: g.Model,
			Choices: []openAIChoice{{
				Message:      openAIMessage{Role: "assistant", Content: g.Content(), Refusal: jsonNull, Annotations: []any{}},
				FinishReason: g.FinishReason,
			}},
			Usage: u, ServiceTier: "default", SystemFingerprint: openAIFingerprint,
		})
	}
	var usage json.RawMessage
	if g.IncludeUsage {
		usage = jsonNull
	}
	chunk := func(d openAIDelta, finish *string) []byte {
		return sse(Marshal(openAIChunk{
			ID: g.ID(), Object: "chat.completion.chunk", Created: g.Created.Unix(), Model: g.Model,
			ServiceTier: "default", SystemFingerprint: openAIFingerprint,
			Choices: []openAIChunkChoice{{Delta: d, FinishReason: finish}},
			Usage:   usage,
		}))
	}
	out.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	empty := ""
	if err := out.Send(chunk(openAIDelta{Role: "assistant", Content: &empty, Refusal: jsonNull}, nil)); err != nil {
		return err
	}
	err := out.Pieces(g, func(p string) []byte { return chunk(openAIDelta{Content: &p}, nil) })
	if errors.Is(err, ErrMidStream) {
		// A failure after the 200 goes out as an error event, then the
		// stream closes without [DONE] (the SDKs raise APIError on it).
		if err := out.Send(sse(openAIError(Failure{Status: http.StatusInternalServerError, Message: openAIServerError}))); err != nil {
			return err
		}
		return ErrMidStream
	}
	if err != nil {
		return err
	}
	if err := out.Send(chunk(openAIDelta{}, &g.FinishReason)); err != nil {
		return err
	}
	if g.IncludeUsage {
		usage = Marshal(openAIUsageOf(g))
		b := sse(Marshal(openAIChunk{
			ID: g.ID(), Object: "chat.completion.chunk", Created: g.Created.Unix(), Model: g.Model,
			ServiceTier: "default", SystemFingerprint: openAIFingerprint,
			Choices: []openAIChunkChoice{}, Usage: usage,
		}))
		if err := out.Send(b); err != nil {
			return err
		}
	}
	return out.Send(sseDone)
}
