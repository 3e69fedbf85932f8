package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

type modelView struct {
	ID                string   `json:"id"`
	Class             string   `json:"class"`
	Plans             []string `json:"plans"`
	Local             bool     `json:"local"`
	Cloud             bool     `json:"cloud"`
	CreditsPer1K      int64    `json:"credits_per_1k_tokens"`
	CloudCreditsPer1K *int64   `json:"cloud_credits_per_1k_tokens"`
}

type modelListView struct {
	Data            []modelView `json:"data"`
	CloudMultiplier int64       `json:"cloud_multiplier"`
}

func modelsOf(t *testing.T, c *apitest.Client) modelListView {
	t.Helper()
	var v modelListView
	c.Do(t, get("/api/v1/models")).Want(t, http.StatusOK).JSON(t, &v)
	return v
}

func credits(n int64) *int64 { return &n }

// TestModels_ShippedCatalog: GET /api/v1/models, without signing in, is
// the gateway's catalog (config/models.yaml less the default restricted
// models) with the seeded plans that may use each model under the
// gateway's rule, where it runs, and its prices, the cloud at twice the
// local one.
func TestModels_ShippedCatalog(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		got := modelsOf(t, s.NewClient())
		want := modelListView{CloudMultiplier: 2, Data: []modelView{
			{ID: "llama3.2:3b", Class: "small", Plans: []string{"basic", "pro", "enterprise"}, Local: true, Cloud: true, CreditsPer1K: 1, CloudCreditsPer1K: credits(2)},
			{ID: "qwen2.5:7b", Class: "medium", Plans: []string{"basic", "pro", "enterprise"}, Local: true, Cloud: true, CreditsPer1K: 2, CloudCreditsPer1K: credits(4)},
			{ID: "llama3.1:70b", Class: "large", Plans: []string{"pro", "enterprise"}, Local: true, Cloud: true, CreditsPer1K: 5, CloudCreditsPer1K: credits(10)},
			{ID: "qwen3:235b", Class: "large", Plans: []string{"enterprise"}, Local: true, Cloud: true, CreditsPer1K: 8, CloudCreditsPer1K: credits(16)},
			{ID: "gpt-oss:120b-cloud", Class: "cloud", Plans: []string{"pro", "enterprise"}, Cloud: true, CreditsPer1K: 4, CloudCreditsPer1K: credits(8)},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("GET /api/v1/models (-want +got):\n%s", diff)
		}
	})
}

const catalogV1 = `models:
  - { id: "tiny", class: small, local: "tiny:1b" }
  - { id: "friendly", class: medium, local: "secret-local", credits_per_1k_tokens: 2 }
  - { id: "hidden-model", class: small, local: "hidden-model" }
`

const catalogV2 = `models:
  - { id: "tiny", class: small, local: "tiny:1b", credits_per_1k_tokens: 3 }
  - { id: "hidden-model", class: small, local: "hidden-model" }
  - { id: "newcomer", class: large, local: "newcomer:70b", cloud: "big-cloud" }
`

// TestModels_RestrictedAndReloaded: restricted models (by id or by the
// Ollama name behind them, in any case) never appear, and a rewritten
// catalog file shows without a restart once the check interval passed,
// or at once on ReloadCatalog (SIGHUP).
func TestModels_RestrictedAndReloaded(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "models.yaml")
			base := time.Now().Add(-time.Hour)
			writeCatalog(t, path, catalogV1, base)
			s := newShop(t, b, "RESAYIL_MODELS_FILE="+path, "RESAYIL_RESTRICTED_MODELS=Hidden-Model, SECRET-LOCAL")
			c := s.NewClient()
			ids := func() string {
				t.Helper()
				var out []string
				for _, m := range modelsOf(t, c).Data {
					out = append(out, m.ID)
				}
				return strings.Join(out, ",")
			}
			if got := ids(); got != "tiny" {
				t.Fatalf("models = %s, want tiny (the others are restricted)", got)
			}

			writeCatalog(t, path, catalogV2, base.Add(time.Minute))
			if got := ids(); got != "tiny" {
				t.Fatalf("models right after the rewrite = %s: the file is looked at once per interval", got)
			}
			s.Clock.Advance(5 * time.Second)
			m := modelsOf(t, c)
			if len(m.Data) != 2 || m.Data[0].ID != "tiny" || m.Data[0].CreditsPer1K != 3 || m.Data[1].ID != "newcomer" || !m.Data[1].Cloud {
				t.Fatalf("models after the interval: %+v", m.Data)
			}

			writeCatalog(t, path, catalogV1, base.Add(2*time.Minute))
			if err := s.App.ReloadCatalog(); err != nil {
				t.Fatal(err)
			}
			if got := ids(); got != "tiny" {
				t.Fatalf("models after ReloadCatalog = %s, want tiny", got)
			}
			// A broken file keeps the catalog in use.
			writeCatalog(t, path, "models: [", base.Add(3*time.Minute))
			if err := s.App.ReloadCatalog(); err == nil {
				t.Fatal("ReloadCatalog of a broken file succeeded")
			}
			if got := ids(); got != "tiny" {
				t.Fatalf("models after a broken file = %s, want tiny", got)
			}
		})
	}
}

// writeCatalog replaces the file and sets its modification time, so that
// the change shows whatever the file system's time resolution.
func writeCatalog(t *testing.T, path, content string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// TestConfig_Public: GET /api/v1/config, without signing in, gives the
// gateway's public base URL (RESAYIL_GATEWAY_PUBLIC_URL), the supported
// languages and the currency.
func TestConfig_Public(t *testing.T) {
	type view struct {
		GatewayURL string   `json:"gateway_url"`
		Languages  []string `json:"languages"`
		Currency   string   `json:"currency"`
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"default", nil, "http://localhost:8080/v1"},
		{"set", []string{"RESAYIL_GATEWAY_PUBLIC_URL=https://api.example.com/v1"}, "https://api.example.com/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := harness(t, testenv.SQLiteBackend, apitest.Options{Env: tc.env})
			var got view
			h.NewClient().Do(t, get("/api/v1/config")).Want(t, http.StatusOK).JSON(t, &got)
			want := view{GatewayURL: tc.want, Languages: []string{"en", "ar"}, Currency: "KWD"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("GET /api/v1/config (-want +got):\n%s", diff)
			}
		})
	}
}
