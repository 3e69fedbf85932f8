// Package fakechat holds what fakeollama and fakecloud share: the request
// pipeline (counters, injected failures, the parallel/queue emulation, pacing
// and client-disconnect detection), the deterministic "model", and the
// OpenAI-compatible /v1 wire formats in both dialects (Ollama's and OpenAI's).
//
// It exists so the two fakes differ only where the real servers differ; the
// public packages wrap it and document the contract each one reproduces.
package fakechat

import (
	"strings"
)

// DefaultTokens is how many completion tokens a reply has unless
// WithTokens/SetTokens or the request's max_tokens says otherwise.
const DefaultTokens = 8

// Message is one chat message as the fakes see it: Content is the text of
// the message (for an array of content parts, the text parts concatenated;
// images and tool calls count for nothing).
type Message struct {
	Role    string
	Content string
}

// PromptTokens is the prompt token count the fakes report:
//
//	max(1, ceil(B / 4))
//
// where B is the sum of the UTF-8 byte lengths of every message's text. It is
// always at least 1, like a real model whose template adds tokens of its own.
func PromptTokens(messages []Message) int {
	b := 0
	for _, m := range messages {
		b += len(m.Content)
	}
	return max(1, (b+3)/4)
}

// ReplyWords is the deterministic reply: n words taken in turn, cycling, from
// the text of the last "user" message that has any word (strings.Fields), or
// the single word "fake" when there is none. Each word is one completion
// token and one streamed content chunk.
func ReplyWords(messages []Message, n int) []string {
	src := []string{"fake"}
	for i := len(messages) - 1; i >= 0; i-- {
		if f := strings.Fields(messages[i].Content); messages[i].Role == "user" && len(f) > 0 {
			src = f
			break
		}
	}
	words := make([]string, max(n, 0))
	for i := range words {
		words[i] = src[i%len(src)]
	}
	return words
}

// ReplyText is the full reply content for n tokens: ReplyWords joined by
// single spaces, which is also the concatenation of the streamed pieces.
func ReplyText(messages []Message, n int) string {
	return strings.Join(ReplyWords(messages, n), " ")
}

// pieces turns words into stream pieces: the first word bare, every later
// word with a leading space, so that joining the pieces gives ReplyText.
func pieces(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		if i > 0 {
			w = " " + w
		}
		out[i] = w
	}
	return out
}

// plan decides what a request generates: tokens words, capped by maxTokens
// when it is positive; a cap that cuts the reply short gives finish reason
// "length", anything else "stop".
func plan(messages []Message, tokens, maxTokens int) (words []string, finish string) {
	finish = "stop"
	if maxTokens > 0 && maxTokens < tokens {
		tokens, finish = maxTokens, "length"
	}
	return ReplyWords(messages, tokens), finish
}
