package fakechat

import "errors"

// Ollama's /v1 shapes (openai/openai.go). Every delta carries role and
// content (neither is omitempty there); usage is omitempty on chunks, so it
// is absent, never null, except on the usage chunk.

type ollamaUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type ollamaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type ollamaChoice struct {
	Index        int           `json:"index"`
	Message      ollamaMessage `json:"message"`
	FinishReason *string       `json:"finish_reason"`
}

type ollamaCompletion struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	SystemFingerprint string         `json:"system_fingerprint"`
	Choices           []ollamaChoice `json:"choices"`
	Usage             *ollamaUsage   `json:"usage,omitempty"` // always set, but under OmitUsage
}

type ollamaChunkChoice struct {
	Index        int           `json:"index"`
	Delta        ollamaMessage `json:"delta"`
	FinishReason *string       `json:"finish_reason"`
}

type ollamaChunk struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"`
	Created           int64               `json:"created"`
	Model             string              `json:"model"`
	SystemFingerprint string              `json:"system_fingerprint"`
	Choices           []ollamaChunkChoice `json:"choices"`
	Usage             *ollamaUsage        `json:"usage,omitempty"`
}

func usageOf(g *Generation) ollamaUsage {
	n := g.CompletionTokens()
	return ollamaUsage{PromptTokens: g.PromptTokens, CompletionTokens: n, TotalTokens: g.PromptTokens + n}
}

func respondOllama(out *Output, g *Generation) error {
	if !g.Stream {
		var u *ollamaUsage
		if !g.NoUsage {
			uu := usageOf(g)
			u = &uu
		}
		return out.JSON("application/json", ollamaCompletion{
			ID: g.ID(), Object: "chat.completion", Created: g.Created.Unix(), Model: g.Model,
			SystemFingerprint: "fp_ollama",
			Choices: []ollamaChoice{{
				Message:      ollamaMessage{Role: "assistant", Content: g.Content()},
				FinishReason: &g.FinishReason,
			}},
			Usage: u,
		})
	}
	chunk := func(model, content string, finish *string) ollamaChunk {
		return ollamaChunk{
			ID: g.ID(), Object: "chat.completion.chunk", Created: g.Created.Unix(), Model: model,
			SystemFingerprint: "fp_ollama",
			Choices: []ollamaChunkChoice{{
				Delta:        ollamaMessage{Role: "assistant", Content: content},
				FinishReason: finish,
			}},
		}
	}
	out.Header().Set("Content-Type", "text/event-stream")
	err := out.Pieces(g, func(p string) []byte { return sse(Marshal(chunk(g.Model, p, nil))) })
	if errors.Is(err, ErrMidStream) {
		// The runner's {"error":…} line reaches the chat writer with status
		// 200, decodes as an empty response and goes out as an empty chunk
		// (no model, no finish reason); the handler then returns: no finish
		// chunk, no usage, no [DONE].
		if err := out.Send(sse(Marshal(chunk("", "", nil)))); err != nil {
			return err
		}
		return ErrMidStream
	}
	if err != nil {
		return err
	}
	// The done:true response has empty content, so the finish reason comes
	// in a chunk of its own.
	fin := chunk(g.Model, "", &g.FinishReason)
	if err := out.Send(sse(Marshal(fin))); err != nil {
		return err
	}
	if g.IncludeUsage {
		u := usageOf(g)
		fin.Choices, fin.Usage = []ollamaChunkChoice{}, &u
		if err := out.Send(sse(Marshal(fin))); err != nil {
			return err
		}
	}
	return out.Send(sseDone)
}
