// Package catalog is the model catalog: which public model ids exist, their
// size class and price, the Ollama model each maps to and the cloud model it
// may fail over to; which plans may use each; and the restricted-model filter
// that keeps restricted names out of every list, route and error message
// (invariant 4).
package catalog

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"gopkg.in/yaml.v3"

	"github.com/resayil/portal/pkg/resayil"
)

// Model is one public model id.
type Model struct {
	ID                 string
	Class              resayil.ModelClass
	CloudOnly          bool
	EnterpriseOnly     bool
	CreditsPer1KTokens int64
	MaxOutputTokens    int
	// Local is the Ollama model name; empty for cloud-only models.
	Local string
	// Cloud is the cloud provider's model name for failover (or the only
	// backend of a cloud-only model); empty when the model never goes to cloud.
	Cloud   string
	OwnedBy string
	Created int64
}

// HasCloud reports whether the model can be served by the cloud backend.
func (m *Model) HasCloud() bool { return m.Cloud != "" }

type fileModel struct {
	ID                 string `yaml:"id"`
	Class              string `yaml:"class"`
	CloudOnly          bool   `yaml:"cloud_only"`
	EnterpriseOnly     bool   `yaml:"enterprise_only"`
	CreditsPer1KTokens *int64 `yaml:"credits_per_1k_tokens"`
	MaxOutputTokens    int    `yaml:"max_output_tokens"`
	Local              string `yaml:"local"`
	Cloud              string `yaml:"cloud"`
	OwnedBy            string `yaml:"owned_by"`
	Created            int64  `yaml:"created"`
}

type file struct {
	Models []fileModel `yaml:"models"`
}

// DefaultMaxOutputTokens bounds a request's hold when neither the request
// nor the catalog says how long an answer may be.
const DefaultMaxOutputTokens = 4096

// Catalog is an immutable set of models; reloads build a new one.
type Catalog struct {
	models     map[string]*Model
	order      []*Model
	restricted map[string]bool
}

// Load reads a catalog file.
func Load(path string, restricted []string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model catalog: %w", err)
	}
	c, err := Parse(b, restricted)
	if err != nil {
		return nil, fmt.Errorf("model catalog %s: %w", path, err)
	}
	return c, nil
}

// Parse builds a catalog from YAML. Restricted names are dropped whether they
// appear as a public id, a local name or a cloud name.
func Parse(data []byte, restricted []string) (*Catalog, error) {
	var f file
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	c := &Catalog{models: map[string]*Model{}, restricted: map[string]bool{}}
	for _, r := range restricted {
		if r = strings.ToLower(strings.TrimSpace(r)); r != "" {
			c.restricted[r] = true
		}
	}
	for i, fm := range f.Models {
		m, err := fm.toModel()
		if err != nil {
			return nil, fmt.Errorf("models[%d] (%q): %w", i, fm.ID, err)
		}
		if _, dup := c.models[m.ID]; dup {
			return nil, fmt.Errorf("models[%d]: duplicate id %q", i, m.ID)
		}
		if c.isRestricted(m.ID) || c.isRestricted(m.Local) || c.isRestricted(m.Cloud) {
			continue
		}
		c.models[m.ID] = m
		c.order = append(c.order, m)
	}
	return c, nil
}

func (fm fileModel) toModel() (*Model, error) {
	m := &Model{
		ID: strings.TrimSpace(fm.ID), Class: resayil.ModelClass(fm.Class), CloudOnly: fm.CloudOnly,
		EnterpriseOnly: fm.EnterpriseOnly, MaxOutputTokens: fm.MaxOutputTokens,
		Local: fm.Local, Cloud: fm.Cloud, OwnedBy: fm.OwnedBy, Created: fm.Created, CreditsPer1KTokens: 1,
	}
	if fm.CreditsPer1KTokens != nil {
		m.CreditsPer1KTokens = *fm.CreditsPer1KTokens
	}
	if m.Class == resayil.ClassCloud {
		m.CloudOnly = true
	}
	switch {
	case m.ID == "":
		return nil, fmt.Errorf("id is required")
	case !slices.Contains([]resayil.ModelClass{resayil.ClassSmall, resayil.ClassMedium, resayil.ClassLarge, resayil.ClassCloud}, m.Class):
		return nil, fmt.Errorf("class must be small, medium, large or cloud, got %q", fm.Class)
	case m.CreditsPer1KTokens < 1:
		return nil, fmt.Errorf("credits_per_1k_tokens must be at least 1")
	case m.MaxOutputTokens < 0:
		return nil, fmt.Errorf("max_output_tokens must not be negative")
	case m.CloudOnly && m.Cloud == "":
		return nil, fmt.Errorf("a cloud_only model needs a cloud name")
	case !m.CloudOnly && m.Local == "":
		return nil, fmt.Errorf("local (the Ollama model name) is required unless cloud_only")
	}
	if m.MaxOutputTokens == 0 {
		m.MaxOutputTokens = DefaultMaxOutputTokens
	}
	if m.OwnedBy == "" {
		m.OwnedBy = "resayil"
	}
	return m, nil
}

func (c *Catalog) isRestricted(name string) bool {
	return name != "" && c.restricted[strings.ToLower(name)]
}

// MentionsRestricted reports whether text names a restricted model, in any
// case: such text (an upstream's error message) must not reach a client.
func (c *Catalog) MentionsRestricted(text string) bool {
	if len(c.restricted) == 0 {
		return false
	}
	lower := strings.ToLower(text)
	for name := range c.restricted {
		if strings.Contains(lower, name) {
			return true
		}
	}
	return false
}

// Lookup finds a public model. Restricted and unknown ids both miss, so the
// caller cannot tell them apart (invariant 4).
func (c *Catalog) Lookup(id string) (*Model, bool) {
	m, ok := c.models[id]
	return m, ok
}

// Models lists every public model in file order.
func (c *Catalog) Models() []*Model { return c.order }

// Allowed reports whether a plan may use the model.
func Allowed(m *Model, p resayil.Plan) bool {
	if m.CloudOnly {
		return p.CloudAllowed && p.Allows(resayil.ClassCloud)
	}
	if m.EnterpriseOnly && !p.EnterpriseModels {
		return false
	}
	return p.Allows(m.Class)
}

// Visible lists the models a plan may use, in file order.
func (c *Catalog) Visible(p resayil.Plan) []*Model {
	out := make([]*Model, 0, len(c.order))
	for _, m := range c.order {
		if Allowed(m, p) {
			out = append(out, m)
		}
	}
	return out
}

// LowestPlan returns the cheapest plan (by SortOrder) that may use m.
func LowestPlan(m *Model, plans []resayil.Plan) (resayil.Plan, bool) {
	var best resayil.Plan
	found := false
	for _, p := range plans {
		if Allowed(m, p) && (!found || p.SortOrder < best.SortOrder) {
			best, found = p, true
		}
	}
	return best, found
}

// SplitList splits a comma-separated list (RESAYIL_RESTRICTED_MODELS),
// dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Live holds the current catalog for readers while a reload swaps it.
type Live struct{ p atomic.Pointer[Catalog] }

// NewLive returns a holder of c.
func NewLive(c *Catalog) *Live {
	l := &Live{}
	l.p.Store(c)
	return l
}

// Get returns the current catalog.
func (l *Live) Get() *Catalog { return l.p.Load() }

// Set replaces the catalog.
func (l *Live) Set(c *Catalog) { l.p.Store(c) }
