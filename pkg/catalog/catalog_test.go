package catalog_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/resayil"
)

var restricted = []string{"glm-4.7-flash", "bge-m3", "nomic-embed-text"}

var (
	basic = resayil.Plan{Code: resayil.TierBasic, Name: "Basic", Classes: []resayil.ModelClass{"small", "medium"}, SortOrder: 1}
	pro   = resayil.Plan{Code: resayil.TierPro, Name: "Pro", Classes: []resayil.ModelClass{"small", "medium", "large", "cloud"}, CloudAllowed: true, SortOrder: 2}
	ent   = resayil.Plan{Code: resayil.TierEnterprise, Name: "Enterprise", Classes: []resayil.ModelClass{"small", "medium", "large", "cloud"}, CloudAllowed: true, EnterpriseModels: true, SortOrder: 3}
)

func shipped(t *testing.T) *catalog.Catalog {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	c, err := catalog.Load(filepath.Join(filepath.Dir(file), "..", "..", "config", "models.yaml"), restricted)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(ms []*catalog.Model) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.ID)
	}
	return strings.Join(s, ",")
}

func TestShippedCatalog_RestrictedNeverListedOrFound(t *testing.T) {
	c := shipped(t)
	if _, ok := c.Lookup("glm-4.7-flash"); ok {
		t.Fatal("restricted model found")
	}
	for _, p := range []resayil.Plan{basic, pro, ent} {
		if strings.Contains(ids(c.Visible(p)), "glm") {
			t.Fatalf("restricted model listed for %s", p.Code)
		}
	}
	if _, ok := c.Lookup("llama3.2:3b"); !ok {
		t.Fatal("public model missing")
	}
}

func TestVisible_ByPlan(t *testing.T) {
	c := shipped(t)
	if got := ids(c.Visible(basic)); got != "llama3.2:3b,qwen2.5:7b" {
		t.Fatalf("basic sees %s", got)
	}
	if got := ids(c.Visible(pro)); got != "llama3.2:3b,qwen2.5:7b,llama3.1:70b,gpt-oss:120b-cloud" {
		t.Fatalf("pro sees %s", got)
	}
	if got := ids(c.Visible(ent)); got != "llama3.2:3b,qwen2.5:7b,llama3.1:70b,qwen3:235b,gpt-oss:120b-cloud" {
		t.Fatalf("enterprise sees %s", got)
	}
}

func TestLowestPlan(t *testing.T) {
	c := shipped(t)
	plans := []resayil.Plan{ent, basic, pro}
	for id, want := range map[string]resayil.TierCode{"llama3.2:3b": "basic", "llama3.1:70b": "pro", "gpt-oss:120b-cloud": "pro", "qwen3:235b": "enterprise"} {
		m, _ := c.Lookup(id)
		if p, ok := catalog.LowestPlan(m, plans); !ok || p.Code != want {
			t.Errorf("%s: lowest plan %v, want %s", id, p.Code, want)
		}
	}
}

func TestParse_RejectsBadEntries(t *testing.T) {
	bad := map[string]string{
		"no id":         "models:\n  - class: small\n    local: x\n",
		"bad class":     "models:\n  - id: a\n    class: huge\n    local: x\n",
		"no local":      "models:\n  - id: a\n    class: small\n",
		"cloud no name": "models:\n  - id: a\n    class: cloud\n",
		"zero price":    "models:\n  - id: a\n    class: small\n    local: x\n    credits_per_1k_tokens: 0\n",
		"duplicate":     "models:\n  - {id: a, class: small, local: x}\n  - {id: a, class: small, local: y}\n",
		"not yaml":      "models: [",
	}
	for name, y := range bad {
		if _, err := catalog.Parse([]byte(y), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParse_RestrictedByLocalNameToo(t *testing.T) {
	c, err := catalog.Parse([]byte("models:\n  - {id: friendly, class: small, local: BGE-M3}\n  - {id: ok, class: small, local: x}\n"), restricted)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Lookup("friendly"); ok || len(c.Models()) != 1 {
		t.Fatal("a public id mapped to a restricted Ollama model must be dropped")
	}
	m, _ := c.Lookup("ok")
	if m.CreditsPer1KTokens != 1 || m.MaxOutputTokens != catalog.DefaultMaxOutputTokens {
		t.Fatalf("defaults not applied: %+v", m)
	}
}

func TestLoad_MissingFile(t *testing.T) {
	if _, err := catalog.Load(filepath.Join(t.TempDir(), "nope.yaml"), nil); err == nil {
		t.Fatal("missing file accepted")
	}
	p := filepath.Join(t.TempDir(), "m.yaml")
	_ = os.WriteFile(p, []byte("models:\n  - {id: a, class: small, local: x}\n"), 0o600)
	live := catalog.NewLive(must(catalog.Load(p, nil)))
	live.Set(must(catalog.Parse([]byte("models: []\n"), nil)))
	if len(live.Get().Models()) != 0 {
		t.Fatal("Live.Set did not swap")
	}
}

func must(c *catalog.Catalog, err error) *catalog.Catalog {
	if err != nil {
		panic(err)
	}
	return c
}

func TestMentionsRestricted(t *testing.T) {
	c, err := catalog.Parse([]byte("models:\n  - id: a\n    class: small\n    local: a\n"), []string{"glm-4.7-flash", " BGE-M3 "})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{
		`model "glm-4.7-flash" not found`: true,
		"GLM-4.7-FLASH failed":            true,
		"bge-m3 does not support chat":    true,
		"model a is busy":                 false,
		"":                                false,
	} {
		if got := c.MentionsRestricted(text); got != want {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
}
