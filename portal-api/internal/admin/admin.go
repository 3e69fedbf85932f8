// Package admin holds the admin console's use cases: finding accounts and
// users, and reading an account's ledger. It declares the storage it
// consumes (Store); internal/store implements it.
package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
)

// Page sizes of the lists.
const (
	DefaultLimit = 50
	MaxLimit     = 200
	// MaxQueryLen bounds a search text (an e-mail address is at most 254).
	MaxQueryLen = 254
)

// Store is what the admin use cases read.
type Store interface {
	// Accounts returns up to q.Limit+1 rows matching q after q's cursor,
	// in q.Sort's order; a plan is active when it runs at now.
	Accounts(ctx context.Context, q AccountQuery, now time.Time) ([]Account, error)
	// Ledger returns up to limit+1 ledger rows of the account, newest
	// first, with ids below before (0: from the newest).
	Ledger(ctx context.Context, account resayil.AccountID, before int64, limit int) ([]LedgerEntry, error)
	// AccountExists reports whether the account exists.
	AccountExists(ctx context.Context, account resayil.AccountID) (bool, error)
}

// Service answers the admin console's reads.
type Service struct {
	store Store
	now   func() time.Time
}

// New builds the service; now is the program's clock.
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Sort orders of the accounts list.
const (
	SortNewest      = "-created_at"
	SortOldest      = "created_at"
	SortBalanceDesc = "-balance"
	SortBalanceAsc  = "balance"
)

// SearchKind says what a search text was taken for.
type SearchKind string

// What a search text is matched against.
const (
	// SearchEmail: the text has an @, matched as a prefix of the e-mail.
	SearchEmail SearchKind = "email"
	// SearchPhone: digits only (a leading + and spaces allowed), matched
	// as the number's last digits.
	SearchPhone SearchKind = "phone"
	// SearchText: anything else, a prefix of the e-mail or of a word of
	// the user's or team's name.
	SearchText SearchKind = "text"
)

// Search is a parsed search text.
type Search struct {
	Kind SearchKind
	// Text is lower-cased for e-mail and text searches; for phone searches
	// it is the digits reversed (the prefix of users.phone_reversed).
	Text string
}

// AccountQuery is a page of the accounts list. The zero values mean no
// filter.
type AccountQuery struct {
	Search *Search
	// Kind is user or team.
	Kind resayil.AccountKind
	// Plan is basic, pro, enterprise, or none for no running plan.
	Plan string
	// Disabled and HasBalance filter when set.
	Disabled   *bool
	HasBalance *bool
	// UsersOnly lists accounts that have a user (the users list).
	UsersOnly bool
	// ID reads one account (the account page).
	ID    resayil.AccountID
	Sort  string
	After *Cursor
	Limit int
}

// Cursor is the position after the last row of a page: its sort key and
// account id.
type Cursor struct {
	Key int64
	ID  resayil.AccountID
}

// Account is a row of the accounts list.
type Account struct {
	ID        resayil.AccountID
	Kind      resayil.AccountKind
	CreatedAt time.Time
	// User is the account's user (nil for a team's account).
	User *AccountUser
	// TeamName is the team's name (empty for a user's account).
	TeamName string
	// Plan is the running plan's code; empty for none.
	Plan          string
	PlanExpiresAt *time.Time
	// BalanceCredits is the durable balance (the database's; the account
	// page shows the live one).
	BalanceCredits int64
	Disabled       bool
}

// AccountUser is the user of a personal account.
type AccountUser struct {
	ID         resayil.UserID
	Email      string
	Name       string
	Phone      string
	Role       string
	DisabledAt *time.Time
	CreatedAt  time.Time
}

// AccountPage is one page of accounts; Next is "" on the last.
type AccountPage struct {
	Items []Account
	Next  string
}

// AccountParams is the accounts list's query as a client sends it.
type AccountParams struct {
	Q, Kind, Plan, Disabled, HasBalance, Sort, Cursor, Limit string
}

// Accounts validates p and returns one page of accounts (usersOnly: of
// accounts that have a user).
func (s *Service) Accounts(ctx context.Context, p AccountParams, usersOnly bool) (AccountPage, error) {
	q, err := p.parse()
	if err != nil {
		return AccountPage{}, err
	}
	q.UsersOnly = usersOnly
	rows, err := s.store.Accounts(ctx, q, dbtime.Of(s.now()))
	if err != nil {
		return AccountPage{}, fmt.Errorf("list accounts: %w", err)
	}
	page := AccountPage{Items: rows}
	if len(rows) > q.Limit {
		page.Items = rows[:q.Limit]
		last := page.Items[q.Limit-1]
		c := Cursor{ID: last.ID}
		if q.Sort == SortBalanceAsc || q.Sort == SortBalanceDesc {
			c.Key = last.BalanceCredits
		}
		page.Next = c.encode()
	}
	return page, nil
}

func (p AccountParams) parse() (AccountQuery, error) {
	q := AccountQuery{Sort: SortNewest, Limit: DefaultLimit}
	var fields []resayil.FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, resayil.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if t := strings.TrimSpace(p.Q); t != "" {
		if len(t) > MaxQueryLen {
			bad("q", "The search text must be at most %d bytes.", MaxQueryLen)
		} else if sr, ok := ParseSearch(t); ok {
			q.Search = &sr
		} else {
			bad("q", "Search by an e-mail prefix, at least 3 last digits of a phone number, or a name's word prefix.")
		}
	}
	switch k := resayil.AccountKind(p.Kind); k {
	case "", resayil.AccountUser, resayil.AccountTeam:
		q.Kind = k
	default:
		bad("kind", "The kind must be user or team, got %q.", p.Kind)
	}
	switch p.Plan {
	case "", "basic", "pro", "enterprise", "none":
		q.Plan = p.Plan
	default:
		bad("plan", "The plan must be basic, pro, enterprise or none, got %q.", p.Plan)
	}
	for _, b := range []struct {
		field, v string
		into     **bool
	}{{"disabled", p.Disabled, &q.Disabled}, {"has_balance", p.HasBalance, &q.HasBalance}} {
		if b.v == "" {
			continue
		}
		v, err := strconv.ParseBool(b.v)
		if err != nil || (b.v != "true" && b.v != "false") {
			bad(b.field, "Must be true or false, got %q.", b.v)
			continue
		}
		*b.into = &v
	}
	switch p.Sort {
	case "":
	case SortNewest, SortOldest, SortBalanceDesc, SortBalanceAsc:
		q.Sort = p.Sort
	default:
		bad("sort", "The sort must be -created_at, created_at, -balance or balance, got %q.", p.Sort)
	}
	if p.Limit != "" {
		if n, ok := parseLimit(p.Limit); ok {
			q.Limit = n
		} else {
			bad("limit", "%s", limitProblem)
		}
	}
	if p.Cursor != "" {
		c, ok := decodeCursor(p.Cursor)
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

// limitProblem is the message of a page size outside 1..MaxLimit, which
// every admin list refuses alike.
var limitProblem = fmt.Sprintf("The limit must be a whole number from 1 to %d.", MaxLimit)

// parseLimit reads a list's limit parameter; ok is false when it is not a
// whole number from 1 to MaxLimit.
func parseLimit(raw string) (n int, ok bool) {
	n, err := strconv.Atoi(raw)
	return n, err == nil && n >= 1 && n <= MaxLimit
}

// minPhoneDigits is the shortest phone search: fewer digits match too
// many numbers to be a search.
const minPhoneDigits = 3

// ParseSearch reads a search text: an @ makes it an e-mail prefix;
// digits (with a leading + or spaces) the last digits of a phone number,
// at least minPhoneDigits of them (a full +965… number matches itself,
// since it ends in itself); anything else a prefix of an e-mail or of a
// word of a name.
func ParseSearch(t string) (Search, bool) {
	t = strings.TrimSpace(t)
	if strings.Contains(t, "@") {
		return Search{Kind: SearchEmail, Text: strings.ToLower(t)}, true
	}
	digits := strings.NewReplacer(" ", "", "+", "", "-", "").Replace(t)
	if digits != "" && strings.Trim(digits, "0123456789") == "" {
		if len(digits) < minPhoneDigits {
			return Search{}, false
		}
		r := []byte(digits)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return Search{Kind: SearchPhone, Text: string(r)}, true
	}
	return Search{Kind: SearchText, Text: strings.ToLower(t)}, true
}

func (c Cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Key, 10) + ":" + strconv.FormatInt(int64(c.ID), 10)))
}

func decodeCursor(s string) (Cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, false
	}
	k, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return Cursor{}, false
	}
	key, err1 := strconv.ParseInt(k, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return Cursor{}, false
	}
	return Cursor{Key: key, ID: resayil.AccountID(n)}, true
}

// LedgerEntry is a row of an account's credit ledger.
type LedgerEntry struct {
	ID          int64
	Reference   string
	Kind        string
	Amount      int64
	Reason      string
	ActorUserID *int64
	CreatedAt   time.Time
}

// LedgerPage is one page of an account's ledger, newest first.
type LedgerPage struct {
	Items []LedgerEntry
	// Next is the id to pass as before for the next page; 0 on the last.
	Next int64
}

// Ledger pages an account's ledger; limit 0 is DefaultLimit.
func (s *Service) Ledger(ctx context.Context, account resayil.AccountID, before int64, limit int) (LedgerPage, error) {
	if limit == 0 {
		limit = DefaultLimit
	}
	var fields []resayil.FieldError
	if limit < 1 || limit > MaxLimit {
		fields = append(fields, resayil.FieldError{Field: "limit", Message: limitProblem})
	}
	if before < 0 {
		fields = append(fields, resayil.FieldError{Field: "cursor", Message: "The cursor is not one this list returned."})
	}
	if len(fields) > 0 {
		return LedgerPage{}, resayil.Invalid(fields...)
	}
	if err := s.mustExist(ctx, account); err != nil {
		return LedgerPage{}, err
	}
	rows, err := s.store.Ledger(ctx, account, before, limit)
	if err != nil {
		return LedgerPage{}, fmt.Errorf("ledger: %w", err)
	}
	page := LedgerPage{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		page.Next = rows[limit-1].ID
	}
	return page, nil
}

// ErrAccountNotFound is the answer for an unknown account id.
var ErrAccountNotFound = resayil.Errorf(resayil.ENOTFOUND, "The account does not exist.")

func (s *Service) mustExist(ctx context.Context, account resayil.AccountID) error {
	ok, err := s.store.AccountExists(ctx, account)
	if err != nil {
		return fmt.Errorf("find account: %w", err)
	}
	if !ok {
		return ErrAccountNotFound
	}
	return nil
}

// Account reads one account's row of the list, or ErrAccountNotFound.
func (s *Service) Account(ctx context.Context, id resayil.AccountID) (Account, error) {
	rows, err := s.store.Accounts(ctx, AccountQuery{ID: id, Sort: SortNewest, Limit: 1}, dbtime.Of(s.now()))
	if err != nil {
		return Account{}, fmt.Errorf("read account: %w", err)
	}
	if len(rows) == 0 {
		return Account{}, ErrAccountNotFound
	}
	return rows[0], nil
}

// Exists returns ErrAccountNotFound unless the account exists.
func (s *Service) Exists(ctx context.Context, account resayil.AccountID) error {
	return s.mustExist(ctx, account)
}
