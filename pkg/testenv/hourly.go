package testenv

import (
	"database/sql"
	"fmt"
	"sort"
	"testing"
	"time"
)

// HourlyRow is one usage_hourly row: its key and its sums.
type HourlyRow struct {
	Account  int64
	Hour     time.Time
	Model    string
	Backend  string
	APIKeyID int64

	Requests, PromptTokens, CompletionTokens, Credits, Errors int64
}

func (r HourlyRow) key() string {
	return fmt.Sprintf("%d|%s|%s|%s|%d", r.Account, r.Hour.UTC().Format(time.RFC3339), r.Model, r.Backend, r.APIKeyID)
}

// CheckHourly fails the test unless usage_hourly holds exactly the sums of
// usage_records per account, UTC hour of created_at, model, backend and key
// (a NULL key counted as 0), with errors the records whose status is not
// "ok". The sums are computed here, in Go, from the records themselves. It
// returns the rows, ordered by key.
func CheckHourly(t testing.TB, db *sql.DB) []HourlyRow {
	t.Helper()
	want := map[string]*HourlyRow{}
	rows, err := db.Query(`SELECT account_id, api_key_id, model, backend, status, prompt_tokens, completion_tokens, credits, created_at FROM usage_records`)
	if err != nil {
		t.Fatalf("read usage_records: %v", err)
	}
	for rows.Next() {
		var r HourlyRow
		var key sql.NullInt64
		var status string
		var prompt, completion, credits int64
		var at time.Time
		if err := rows.Scan(&r.Account, &key, &r.Model, &r.Backend, &status, &prompt, &completion, &credits, &at); err != nil {
			t.Fatalf("scan usage_records: %v", err)
		}
		r.APIKeyID = key.Int64
		r.Hour = time.Date(at.UTC().Year(), at.UTC().Month(), at.UTC().Day(), at.UTC().Hour(), 0, 0, 0, time.UTC)
		w := want[r.key()]
		if w == nil {
			w = &r
			want[r.key()] = w
		}
		w.Requests++
		w.PromptTokens += prompt
		w.CompletionTokens += completion
		w.Credits += credits
		if status != "ok" {
			w.Errors++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read usage_records: %v", err)
	}
	rows.Close()

	got := ReadHourly(t, db)
	gotByKey := map[string]HourlyRow{}
	for _, r := range got {
		if _, ok := gotByKey[r.key()]; ok {
			t.Errorf("usage_hourly: two rows for %s (the hour written two ways?)", r.key())
		}
		gotByKey[r.key()] = r
	}
	for k, w := range want {
		g, ok := gotByKey[k]
		if !ok {
			t.Errorf("usage_hourly: no row %s, want %+v", k, *w)
			continue
		}
		if g.Requests != w.Requests || g.PromptTokens != w.PromptTokens || g.CompletionTokens != w.CompletionTokens ||
			g.Credits != w.Credits || g.Errors != w.Errors {
			t.Errorf("usage_hourly row %s = %+v, want the records' sums %+v", k, g, *w)
		}
	}
	for k, g := range gotByKey {
		if _, ok := want[k]; !ok {
			t.Errorf("usage_hourly: row %s = %+v sums no record", k, g)
		}
	}
	return got
}

// ReadHourly returns the usage_hourly rows, ordered by key.
func ReadHourly(t testing.TB, db *sql.DB) []HourlyRow {
	t.Helper()
	rows, err := db.Query(`SELECT account_id, hour_start, model, backend, api_key_id, requests, prompt_tokens, completion_tokens, credits, errors FROM usage_hourly`)
	if err != nil {
		t.Fatalf("read usage_hourly: %v", err)
	}
	defer rows.Close()
	var out []HourlyRow
	for rows.Next() {
		var r HourlyRow
		if err := rows.Scan(&r.Account, &r.Hour, &r.Model, &r.Backend, &r.APIKeyID,
			&r.Requests, &r.PromptTokens, &r.CompletionTokens, &r.Credits, &r.Errors); err != nil {
			t.Fatalf("scan usage_hourly: %v", err)
		}
		r.Hour = r.Hour.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read usage_hourly: %v", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}
