package catalog_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/catalog"
)

const oneModel = `models:
  - { id: "small-1", class: small, local: "small-1" }
`

const twoModels = `models:
  - { id: "small-1", class: small, local: "small-1" }
  - { id: "hidden", class: small, local: "secret-model" }
  - { id: "medium-1", class: medium, local: "medium-1", credits_per_1k_tokens: 3 }
`

// write replaces the file's content and sets its modification time, so the
// change is seen whatever the file system's time resolution.
func write(t *testing.T, path, content string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestFile_PicksUpChangesWithoutARestart: a rewritten file is read again
// once the interval has passed, restricted names stay out, a file that no
// longer parses keeps the last good catalog, and Reload reads at once.
func TestFile_PicksUpChangesWithoutARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "models.yaml")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	write(t, path, oneModel, base)
	c := &clock{t: base}
	f, err := catalog.OpenFile(path, []string{"secret-model"}, 5*time.Second, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(f.Get().Models()); got != "small-1" {
		t.Fatalf("models = %s", got)
	}

	write(t, path, twoModels, base.Add(time.Minute))
	c.Advance(4 * time.Second)
	if got := ids(f.Get().Models()); got != "small-1" {
		t.Fatalf("before the interval: models = %s, want the old catalog", got)
	}
	c.Advance(time.Second)
	if got := ids(f.Get().Models()); got != "small-1,medium-1" {
		t.Fatalf("after the interval: models = %s, want small-1,medium-1 (hidden is restricted)", got)
	}

	write(t, path, "models: [", base.Add(2*time.Minute))
	c.Advance(5 * time.Second)
	if got := ids(f.Get().Models()); got != "small-1,medium-1" || f.Err() == nil {
		t.Fatalf("a broken file: models = %s, err %v; want the last good catalog and an error", got, f.Err())
	}

	write(t, path, oneModel, base.Add(3*time.Minute))
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := ids(f.Get().Models()); got != "small-1" || f.Err() != nil {
		t.Fatalf("after Reload: models = %s, err %v", got, f.Err())
	}
}

func TestOpenFile_Missing(t *testing.T) {
	if _, err := catalog.OpenFile(filepath.Join(t.TempDir(), "none.yaml"), nil, 0, nil); err == nil {
		t.Fatal("OpenFile of a missing file succeeded")
	}
}
