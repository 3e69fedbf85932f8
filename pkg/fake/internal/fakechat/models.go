package fakechat

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// modifiedBase is the modified_at of the first installed model; each later
// one is an hour older, so "most recently modified first" (Ollama's order)
// is the order the models were given in.
var modifiedBase = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Model is an installed model with the details /api/tags reports, all
// derived deterministically from its name.
type Model struct {
	Name          string // normalised: a name without a tag gets ":latest"
	ModifiedAt    time.Time
	Size          int64
	Digest        string // sha256 of the name, hex
	Format        string
	Family        string
	ParameterSize string
	Quantization  string
	// Chat is false for embedding models (a name containing "embed" or
	// starting with "bge"): chat requests for them get 400 "does not support chat".
	Chat bool
}

// Namespace is what Ollama reports as owned_by: "library" for official
// models, else the namespace before the model name ("user/model").
func (m Model) Namespace() string {
	parts := strings.Split(m.Name, "/")
	if len(parts) < 2 {
		return "library"
	}
	return parts[len(parts)-2]
}

// NormalizeName gives a model name Ollama's default tag, ":latest", when it
// has none.
func NormalizeName(name string) string {
	base := name[strings.LastIndex(name, "/")+1:]
	if base != "" && !strings.Contains(base, ":") {
		return name + ":latest"
	}
	return name
}

func newModel(name string, index int) Model {
	name = NormalizeName(name)
	base := name[strings.LastIndex(name, "/")+1:]
	short, tag, _ := strings.Cut(base, ":")
	sum := sha256.Sum256([]byte(name))
	m := Model{
		Name:         name,
		ModifiedAt:   modifiedBase.Add(-time.Duration(index) * time.Hour),
		Digest:       hex.EncodeToString(sum[:]),
		Format:       "gguf",
		Family:       strings.TrimRightFunc(strings.SplitN(short, "-", 2)[0], notLetter),
		Quantization: "Q4_K_M",
		Chat:         true,
	}
	billions := 7.0
	if strings.Contains(short, "embed") || strings.HasPrefix(short, "bge") {
		m.Chat, m.Family, m.Quantization, billions = false, "bert", "F16", 0.567
	} else if f, err := strconv.ParseFloat(strings.TrimSuffix(strings.ToLower(tag), "b"), 64); err == nil && strings.HasSuffix(strings.ToLower(tag), "b") {
		billions = f
	}
	if billions < 1 {
		m.ParameterSize = strconv.FormatFloat(billions*1000, 'f', 2, 64) + "M"
	} else {
		m.ParameterSize = strconv.FormatFloat(billions, 'f', -1, 64) + "B"
	}
	m.Size = int64(billions * 0.6e9) // about what a Q4 quantisation weighs
	if m.Family == "" {
		m.Family = "llama"
	}
	return m
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// modelSet is the installed models, in order.
type modelSet []Model

func newModelSet(names []string) modelSet {
	set := make(modelSet, 0, len(names))
	for i, n := range names {
		if strings.TrimSpace(n) != "" {
			set = append(set, newModel(strings.TrimSpace(n), i))
		}
	}
	return set
}

// find matches a requested name the way Ollama does: with the default tag
// added and ignoring case.
func (s modelSet) find(name string) (Model, bool) {
	want := NormalizeName(name)
	for _, m := range s {
		if strings.EqualFold(m.Name, want) {
			return m, true
		}
	}
	return Model{}, false
}

// v1Model is an entry of GET /v1/models.
type v1Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type v1ModelList struct {
	Object string    `json:"object"`
	Data   []v1Model `json:"data"`
}

// ServeModels answers GET /v1/models. Ollama builds the list from a nil
// slice, so with no models installed it answers "data":null; OpenAI answers [].
func ServeModels(c *Controls, w http.ResponseWriter, r *http.Request, p Protocol, d Dialect) {
	if f := p.Authorize(r); f != nil {
		c.update(func(s *Stats) { s.Unauthorized++ })
		p.Fail(w, *f)
		return
	}
	list := v1ModelList{Object: "list"}
	if d == OpenAI {
		list.Data = []v1Model{}
	}
	for _, m := range c.Models() {
		list.Data = append(list.Data, v1Model{ID: m.Name, Object: "model", Created: m.ModifiedAt.Unix(), OwnedBy: m.Namespace()})
	}
	WriteJSON(w, http.StatusOK, "application/json", list)
}

// ServeModel answers GET /v1/models/{model}: the model as named in the
// path, or 404 in the protocol's error shape.
func ServeModel(c *Controls, w http.ResponseWriter, r *http.Request, p Protocol) {
	if f := p.Authorize(r); f != nil {
		c.update(func(s *Stats) { s.Unauthorized++ })
		p.Fail(w, *f)
		return
	}
	name := r.PathValue("model")
	c.mu.Lock()
	m, ok := c.models.find(name)
	c.mu.Unlock()
	if !ok {
		p.Fail(w, Failure{Status: http.StatusNotFound, Message: p.Texts().ModelNotFound(name)})
		return
	}
	WriteJSON(w, http.StatusOK, "application/json", v1Model{ID: name, Object: "model", Created: m.ModifiedAt.Unix(), OwnedBy: m.Namespace()})
}

// WriteJSON writes v as a complete JSON response.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(Marshal(v), '\n'))
}
