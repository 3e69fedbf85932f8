package app_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

func decode(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
