package fakechat_test

import (
	"slices"
	"testing"

	"github.com/resayil/portal/pkg/fake/internal/fakechat"
)

func TestPromptTokens(t *testing.T) {
	for _, tc := range []struct {
		msgs []fakechat.Message
		want int
	}{
		{nil, 1},
		{[]fakechat.Message{{Role: "user", Content: ""}}, 1},
		{[]fakechat.Message{{Role: "user", Content: "abcd"}}, 1},
		{[]fakechat.Message{{Role: "user", Content: "abcde"}}, 2},
		{[]fakechat.Message{{Role: "system", Content: "abc"}, {Role: "user", Content: "de"}}, 2},
		{[]fakechat.Message{{Role: "user", Content: "مرحبا"}}, 3}, // 10 bytes
	} {
		if got := fakechat.PromptTokens(tc.msgs); got != tc.want {
			t.Errorf("PromptTokens(%v) = %d, want %d", tc.msgs, got, tc.want)
		}
	}
}

func TestReplyWords(t *testing.T) {
	msgs := []fakechat.Message{
		{Role: "user", Content: "first question"},
		{Role: "assistant", Content: "an answer"},
		{Role: "user", Content: "  one   two "},
		{Role: "tool", Content: "ignored"},
	}
	if got := fakechat.ReplyWords(msgs, 5); !slices.Equal(got, []string{"one", "two", "one", "two", "one"}) {
		t.Errorf("ReplyWords = %q", got)
	}
	if got := fakechat.ReplyWords([]fakechat.Message{{Role: "user", Content: " "}}, 2); !slices.Equal(got, []string{"fake", "fake"}) {
		t.Errorf("ReplyWords without words = %q", got)
	}
	if got := fakechat.ReplyText(msgs, 3); got != "one two one" {
		t.Errorf("ReplyText = %q", got)
	}
	if got := fakechat.ReplyWords(msgs, 0); len(got) != 0 {
		t.Errorf("ReplyWords(0) = %q", got)
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"llama3.2":          "llama3.2:latest",
		"llama3.2:3b":       "llama3.2:3b",
		"user/model":        "user/model:latest",
		"host:5000/u/model": "host:5000/u/model:latest",
	} {
		if got := fakechat.NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitSSE(t *testing.T) {
	got, err := fakechat.SplitSSE([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	if err != nil || !slices.Equal(got, []string{`{"a":1}`, "[DONE]"}) {
		t.Errorf("SplitSSE = %q, %v", got, err)
	}
	for _, bad := range []string{
		"data: x\n",             // no blank line
		"data:x\n\n",            // no space
		": ping\n\ndata: x\n\n", // comment line
		"event: e\ndata: x\n\n", // event line
		"data: x\ndata: y\n\n",  // two data lines in one event
		"data: x\r\n\r\n",       // CRLF
	} {
		if _, err := fakechat.SplitSSE([]byte(bad)); err == nil {
			t.Errorf("SplitSSE(%q) accepted", bad)
		}
	}
}
