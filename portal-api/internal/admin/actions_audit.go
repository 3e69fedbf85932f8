package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Column limits of audit_log, for the filters.
const (
	maxAuditActor      = 64
	maxAuditAction     = 64
	maxAuditTargetType = 32
	maxAuditTargetID   = 64
)

// AuditQuery is a page of the audit log. The zero values mean no filter.
type AuditQuery struct {
	// ActorUserID is the admin who acted (ix_audit_log_actor); Actor,
	// instead, an operator's tool such as "cli".
	ActorUserID resayil.UserID
	Actor       string
	// Action is e.g. credits.adjust (ix_audit_log_action).
	Action string
	// TargetType and TargetID name what was acted on
	// (ix_audit_log_target); TargetID needs TargetType.
	TargetType, TargetID string
	// From (included) and To (excluded) bound created_at.
	From, To *time.Time
	After    *AuditCursor
	Limit    int
}

// AuditCursor is the position after the last row of a page: newest
// first by time, then by id.
type AuditCursor struct {
	At time.Time
	ID int64
}

// AuditEntry is an audit_log row.
type AuditEntry struct {
	ID          int64
	ActorUserID *int64
	Actor       string
	Action      string
	TargetType  string
	TargetID    string
	// Details is the row's JSON object, as stored.
	Details   json.RawMessage
	IP        string
	CreatedAt time.Time
}

// AuditPage is one page of the audit log; Next is "" on the last.
type AuditPage struct {
	Items []AuditEntry
	Next  string
}

// AuditParams is the audit log's query as a client sends it.
type AuditParams struct {
	Actor, Action, TargetType, TargetID, From, To, Cursor, Limit string
}

// AuditLog validates p and returns one page of the audit log, newest
// first.
func (a *Actions) AuditLog(ctx context.Context, p AuditParams) (AuditPage, error) {
	q, err := p.parse()
	if err != nil {
		return AuditPage{}, err
	}
	rows, err := a.store.AuditLog(ctx, q)
	if err != nil {
		return AuditPage{}, fmt.Errorf("audit log: %w", err)
	}
	page := AuditPage{Items: rows}
	if len(rows) > q.Limit {
		page.Items = rows[:q.Limit]
		last := page.Items[q.Limit-1]
		page.Next = AuditCursor{At: last.CreatedAt, ID: last.ID}.encode()
	}
	return page, nil
}

func (p AuditParams) parse() (AuditQuery, error) {
	q := AuditQuery{Limit: DefaultLimit}
	var fields []resayil.FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, resayil.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if v := strings.TrimSpace(p.Actor); v != "" {
		if strings.Trim(v, "0123456789") == "" {
			// Digits are an admin's user id.
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				bad("actor", "The actor must be a user id or a tool's name such as cli.")
			} else {
				q.ActorUserID = resayil.UserID(n)
			}
		} else if len(v) > maxAuditActor {
			bad("actor", "The actor must be at most %d bytes.", maxAuditActor)
		} else {
			q.Actor = v
		}
	}
	for _, f := range []struct {
		field, v string
		max      int
		into     *string
	}{
		{"action", p.Action, maxAuditAction, &q.Action},
		{"target_type", p.TargetType, maxAuditTargetType, &q.TargetType},
		{"target_id", p.TargetID, maxAuditTargetID, &q.TargetID},
	} {
		if v := strings.TrimSpace(f.v); len(v) > f.max {
			bad(f.field, "Must be at most %d bytes.", f.max)
		} else {
			*f.into = v
		}
	}
	if q.TargetID != "" && q.TargetType == "" {
		bad("target_type", "Give the target's type with its id (e.g. account).")
	}
	for _, t := range []struct {
		field, v string
		into     **time.Time
	}{{"from", p.From, &q.From}, {"to", p.To, &q.To}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			bad(t.field, "Must be a time in RFC 3339 format, such as 2026-12-01T00:00:00Z.")
			continue
		}
		v = v.UTC()
		*t.into = &v
	}
	if q.From != nil && q.To != nil && !q.From.Before(*q.To) {
		bad("to", "Must be after from.")
	}
	if p.Limit != "" {
		if n, ok := parseLimit(p.Limit); ok {
			q.Limit = n
		} else {
			bad("limit", "%s", limitProblem)
		}
	}
	if p.Cursor != "" {
		c, ok := decodeAuditCursor(p.Cursor)
		if !ok {
			bad("cursor", "The cursor is not one this list returned.")
		} else {
			q.After = &c
		}
	}
	if len(fields) > 0 {
		return q, resayil.Invalid(fields...)
	}
	return q, nil
}

// The cursor carries the time in microseconds (DATETIME(6)), so it
// compares equal to the row's stored time.
func (c AuditCursor) encode() string {
	s := strconv.FormatInt(c.At.UnixMicro(), 10) + ":" + strconv.FormatInt(c.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeAuditCursor(s string) (AuditCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return AuditCursor{}, false
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return AuditCursor{}, false
	}
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return AuditCursor{}, false
	}
	return AuditCursor{At: time.UnixMicro(us).UTC(), ID: n}, true
}
