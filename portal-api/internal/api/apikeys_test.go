package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

var keyFormat = regexp.MustCompile(`^sk-[0-9A-Za-z]{43}$`)

func createKey(t *testing.T, c *apitest.Client, name string) apitest.CreatedKey {
	t.Helper()
	var k apitest.CreatedKey
	c.Do(t, post("/api/v1/api-keys", map[string]any{"name": name})).Want(t, http.StatusCreated).JSON(t, &k)
	return k
}

func listKeys(t *testing.T, c *apitest.Client) []apitest.Key {
	t.Helper()
	var l apitest.KeyList
	c.Do(t, get("/api/v1/api-keys")).Want(t, http.StatusOK).JSON(t, &l)
	return l.Data
}

func revokeKey(id int64) apitest.Request {
	return apitest.Request{Method: "DELETE", Path: fmt.Sprintf("/api/v1/api-keys/%d", id)}
}

// recorder is an EventPublisher that remembers what it was told.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) Publish(_ context.Context, kind string, account resayil.AccountID, subject string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s account=%d subject=%s", kind, account, subject))
	return nil
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func TestAPIKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("create201ShownOnce", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "keys")
			k := createKey(t, c, "  laptop  ")
			if !keyFormat.MatchString(k.Key) || k.Name != "laptop" || !strings.HasPrefix(k.Key, k.Prefix) || len(k.Prefix) != 12 {
				t.Fatalf("created key: %+v", k)
			}
			if !k.CreatedAt.Equal(h.Clock.Now()) {
				t.Errorf("created_at %s, clock %s", k.CreatedAt, h.Clock.Now())
			}
			res := c.Do(t, get("/api/v1/api-keys")).Want(t, http.StatusOK)
			if strings.Contains(string(res.Body), k.Key) || strings.Contains(string(res.Body), `"key"`) {
				t.Errorf("the list shows the key: %s", res.Body)
			}
			var l apitest.KeyList
			res.JSON(t, &l)
			want := []apitest.Key{{ID: k.ID, Name: "laptop", Prefix: k.Prefix, CreatedAt: k.CreatedAt}}
			if diff := cmp.Diff(want, l.Data); diff != "" {
				t.Errorf("list (-want +got):\n%s", diff)
			}
		})
		t.Run("storedAsHashOnly", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "hash")
			k := createKey(t, c, "ci")
			rows, err := h.DB.SQL.Query("SELECT * FROM api_keys WHERE id = ?", k.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			if !rows.Next() {
				t.Fatal("no row")
			}
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			secret := strings.TrimPrefix(k.Key, "sk-")
			row := map[string]string{}
			for i, col := range cols {
				v := fmt.Sprint(vals[i])
				if b, ok := vals[i].([]byte); ok {
					v = string(b)
				}
				row[col] = v
				if strings.Contains(v, secret) || strings.Contains(v, secret[len(secret)-20:]) {
					t.Errorf("column %s holds the key: %q", col, v)
				}
			}
			sum := sha256.Sum256([]byte(k.Key))
			if row["key_hash"] != hex.EncodeToString(sum[:]) {
				t.Errorf("key_hash %q is not the SHA-256 of the key", row["key_hash"])
			}
			if row["prefix"] != k.Prefix {
				t.Errorf("prefix %q", row["prefix"])
			}
		})
		t.Run("revoke204KeptForHistory", func(t *testing.T) {
			t.Parallel()
			c, u := h.SignUp(t, "revoke")
			old := createKey(t, c, "old")
			keep := createKey(t, c, "keep")
			c.Do(t, revokeKey(old.ID)).Want(t, http.StatusNoContent)
			c.Do(t, revokeKey(old.ID)).Want(t, http.StatusNoContent) // again: still fine
			keys := listKeys(t, c)
			if len(keys) != 2 || keys[0].ID != keep.ID || keys[0].RevokedAt != nil || keys[1].ID != old.ID || keys[1].RevokedAt == nil {
				t.Fatalf("list after revoke: %+v", keys)
			}
			var accountID int64
			h.DB.Gorm.Raw("SELECT account_id FROM api_keys WHERE id = ?", old.ID).Scan(&accountID)
			if accountID != u.AccountID {
				t.Errorf("key account %d, user's account %d", accountID, u.AccountID)
			}
		})
		t.Run("create400", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "keys400")
			for _, tc := range []struct {
				body any
				msg  string
			}{
				{map[string]any{}, "This field is required."},
				{map[string]any{"name": "  "}, "This field is required."},
				{map[string]any{"name": strings.Repeat("k", 101)}, "Must be at most 100 characters."},
				{map[string]any{"name": true}, "Must be a string."},
			} {
				got := c.Do(t, post("/api/v1/api-keys", tc.body)).Want(t, http.StatusBadRequest).Error(t)
				want := apitest.ErrorDetail{Code: "invalid", Message: tc.msg, Fields: []apitest.FieldError{{Field: "name", Message: tc.msg}}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%v (-want +got):\n%s", tc.body, diff)
				}
			}
		})
		t.Run("atMost20Active", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "limit")
			var first apitest.CreatedKey
			for i := range 20 {
				k := createKey(t, c, fmt.Sprintf("key %d", i))
				if i == 0 {
					first = k
				}
			}
			e := c.Do(t, post("/api/v1/api-keys", map[string]any{"name": "one too many"})).Want(t, http.StatusConflict).Error(t)
			if e.Code != "conflict" || !strings.Contains(e.Message, "20 active API keys") {
				t.Errorf("%+v", e)
			}
			c.Do(t, revokeKey(first.ID)).Want(t, http.StatusNoContent)
			createKey(t, c, "room again")
			if n := len(listKeys(t, c)); n != 21 {
				t.Errorf("%d keys listed, want 21 (20 active, 1 revoked)", n)
			}
		})
		t.Run("limitHoldsUnderConcurrency", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "burst")
			for i := range 15 {
				createKey(t, c, fmt.Sprintf("pre %d", i))
			}
			var (
				wg   sync.WaitGroup
				errs goErrs
			)
			codes := make(chan int, 10)
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes <- errs.status(h.Try(apitest.Request{Method: "POST", Path: "/api/v1/api-keys", Token: c.Token, Body: map[string]any{"name": fmt.Sprintf("burst %d", i)}}))
				}()
			}
			wg.Wait()
			close(codes)
			errs.report(t)
			created := 0
			for code := range codes {
				if code == http.StatusCreated {
					created++
				} else if code != http.StatusConflict {
					t.Errorf("status %d", code)
				}
			}
			if created != 5 {
				t.Errorf("%d keys created concurrently past 15, want exactly 5", created)
			}
		})
		t.Run("othersKeysAreInvisible404", func(t *testing.T) {
			t.Parallel()
			alice, _ := h.SignUp(t, "alice")
			bob, _ := h.SignUp(t, "bob")
			k := createKey(t, alice, "alice's")
			if keys := listKeys(t, bob); len(keys) != 0 {
				t.Errorf("bob sees %+v", keys)
			}
			e := bob.Do(t, revokeKey(k.ID)).Want(t, http.StatusNotFound).Error(t)
			missing := bob.Do(t, revokeKey(k.ID+1_000_000)).Want(t, http.StatusNotFound).Error(t)
			if diff := cmp.Diff(missing, e); diff != "" || e.Code != "not_found" {
				t.Errorf("another user's key must look missing (-missing +other's):\n%s", diff)
			}
			bob.Do(t, apitest.Request{Method: "DELETE", Path: "/api/v1/api-keys/abc"}).Want(t, http.StatusNotFound)
			if keys := listKeys(t, alice); len(keys) != 1 || keys[0].RevokedAt != nil {
				t.Errorf("alice's key was touched: %+v", keys)
			}
		})
	})
}

func TestAPIKeys_RevokeAnnounced(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		rec := &recorder{}
		h := newHarness(t, apitest.Options{Events: rec})
		c, u := h.SignUp(t, "events")
		k := createKey(t, c, "to revoke")
		c.Do(t, revokeKey(k.ID)).Want(t, http.StatusNoContent)
		want := []string{fmt.Sprintf("key_revoked account=%d subject=%d", u.AccountID, k.ID)}
		if diff := cmp.Diff(want, rec.list()); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}
