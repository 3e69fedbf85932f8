package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ProbeOllama checks a local Ollama host: GET /api/version must answer 200,
// then GET /api/tags lists the models pulled there (names normalised, see
// ModelName). ctx bounds both calls.
func (b *Backend) ProbeOllama(ctx context.Context) (version string, models []string, err error) {
	var v struct {
		Version string `json:"version"`
	}
	if err := b.getJSON(ctx, "/api/version", &v); err != nil {
		return "", nil, err
	}
	var tags struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	if err := b.getJSON(ctx, "/api/tags", &tags); err != nil {
		return v.Version, nil, err
	}
	models = make([]string, 0, len(tags.Models))
	for _, m := range tags.Models {
		name := m.Name
		if name == "" {
			name = m.Model
		}
		if name != "" {
			models = append(models, ModelName(name))
		}
	}
	return v.Version, models, nil
}

// ProbeOpenAI checks an OpenAI-compatible backend with GET /v1/models. The
// backend is up when it answers at all, unless it refuses the key (401,
// 403) or fails (5xx): some providers do not serve /v1/models, and a 404
// still shows the host and the key work.
func (b *Backend) ProbeOpenAI(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.BaseURL+"/v1/models", nil)
	if err != nil {
		return err
	}
	if b.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+b.APIKey)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return classify(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500 {
		return &Error{Status: resp.StatusCode}
	}
	return nil
}

func (b *Backend) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.BaseURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return classify(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &Error{Status: resp.StatusCode, Message: fmt.Sprintf("GET %s", path)}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// ModelName normalises an Ollama model name the way Ollama resolves it: a
// name without a tag means ":latest".
func ModelName(name string) string {
	base := name
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	if !strings.Contains(base, ":") {
		return name + ":latest"
	}
	return name
}
