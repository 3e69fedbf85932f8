package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
)

var _ admin.Store = (*Store)(nil)

// likePrefix is s as a LIKE pattern matching what starts with it, its
// wildcards escaped with '!' (ESCAPE '!' is the same on both databases).
func likePrefix(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s) + "%"
}

// accountRowsSQL reads the accounts list: the account, its user or team,
// its durable balance and its running plan (the latest-expiring active
// subscription running at now).
const accountRowsSQL = `SELECT a.id, a.kind, a.created_at,
  u.id AS user_id, u.email, u.name, u.phone, u.role, u.disabled_at, u.created_at AS user_created_at,
  t.name AS team_name, COALESCE(w.balance_credits, 0) AS balance, sp.code AS plan, s.expires_at AS plan_expires_at,
  a.status
FROM accounts a
LEFT JOIN users u ON u.account_id = a.id
LEFT JOIN teams t ON t.account_id = a.id
LEFT JOIN wallets w ON w.account_id = a.id
LEFT JOIN subscriptions s ON s.id = (SELECT s2.id FROM subscriptions s2
  WHERE s2.account_id = a.id AND s2.status = 'active' AND s2.starts_at <= ? AND s2.expires_at > ?
  ORDER BY s2.expires_at DESC, s2.id DESC LIMIT 1)
LEFT JOIN subscription_plans sp ON sp.id = s.plan_id`

type adminAccountRow struct {
	ID            int64
	Kind          string
	CreatedAt     time.Time
	UserID        *int64
	Email         *string
	Name          *string
	Phone         *string
	Role          *string
	DisabledAt    *time.Time
	UserCreatedAt *time.Time
	TeamName      *string
	Balance       int64
	Plan          *string
	PlanExpiresAt *time.Time
	Status        string
}

func (r adminAccountRow) toDomain() admin.Account {
	a := admin.Account{
		ID: resayil.AccountID(r.ID), Kind: resayil.AccountKind(r.Kind), CreatedAt: r.CreatedAt,
		BalanceCredits: r.Balance, PlanExpiresAt: r.PlanExpiresAt,
		Disabled: r.DisabledAt != nil || r.Status == "disabled",
	}
	if r.UserID != nil {
		a.User = &admin.AccountUser{ID: resayil.UserID(*r.UserID), Email: deref(r.Email), Name: deref(r.Name),
			Phone: deref(r.Phone), Role: deref(r.Role), DisabledAt: r.DisabledAt, CreatedAt: derefTime(r.UserCreatedAt)}
	}
	a.TeamName, a.Plan = deref(r.TeamName), deref(r.Plan)
	return a
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// accountsQuery builds the accounts list's statement. Searches use the
// users' indexes: uq_users_email for an e-mail prefix,
// ix_users_phone_reversed for a phone's last digits (a prefix of the
// reversed number), ix_users_name for a name's first word; a later word of
// a name is matched by a scan of the names.
func accountsQuery(q admin.AccountQuery, now time.Time) (string, []any) {
	var w sqlConds
	if sr := q.Search; sr != nil {
		p := likePrefix(sr.Text)
		word := "% " + p
		switch sr.Kind {
		case admin.SearchEmail:
			w.add("u.email_normalized LIKE ? ESCAPE '!'", p)
		case admin.SearchPhone:
			w.add("u.phone_reversed LIKE ? ESCAPE '!'", p)
		default:
			w.add(`(u.email_normalized LIKE ? ESCAPE '!' OR u.name LIKE ? ESCAPE '!' OR u.name LIKE ? ESCAPE '!'
  OR t.name LIKE ? ESCAPE '!' OR t.name LIKE ? ESCAPE '!')`, p, p, word, p, word)
		}
	}
	if q.Kind != "" {
		w.add("a.kind = ?", string(q.Kind))
	}
	if q.ID != 0 {
		w.add("a.id = ?", int64(q.ID))
	}
	if q.UsersOnly {
		w.add("u.id IS NOT NULL")
	}
	switch q.Plan {
	case "":
	case "none":
		w.add("s.id IS NULL")
	default:
		w.add("sp.code = ?", q.Plan)
	}
	if q.Disabled != nil {
		if *q.Disabled {
			w.add("(u.disabled_at IS NOT NULL OR a.status = 'disabled')")
		} else {
			w.add("u.disabled_at IS NULL AND a.status <> 'disabled'")
		}
	}
	if q.HasBalance != nil {
		if *q.HasBalance {
			w.add("COALESCE(w.balance_credits, 0) > 0")
		} else {
			w.add("COALESCE(w.balance_credits, 0) = 0")
		}
	}
	order := "a.id DESC"
	if c := q.After; c != nil {
		switch q.Sort {
		case admin.SortOldest:
			w.add("a.id > ?", int64(c.ID))
		case admin.SortBalanceDesc:
			w.add("(COALESCE(w.balance_credits, 0) < ? OR (COALESCE(w.balance_credits, 0) = ? AND a.id < ?))", c.Key, c.Key, int64(c.ID))
		case admin.SortBalanceAsc:
			w.add("(COALESCE(w.balance_credits, 0) > ? OR (COALESCE(w.balance_credits, 0) = ? AND a.id > ?))", c.Key, c.Key, int64(c.ID))
		default:
			w.add("a.id < ?", int64(c.ID))
		}
	}
	switch q.Sort {
	case admin.SortOldest:
		order = "a.id ASC"
	case admin.SortBalanceDesc:
		order = "balance DESC, a.id DESC"
	case admin.SortBalanceAsc:
		order = "balance ASC, a.id ASC"
	}
	args := append([]any{now.UTC(), now.UTC()}, w.args...)
	// Account ids grow with time, so the id orders by creation.
	return accountRowsSQL + w.String() + " ORDER BY " + order + " LIMIT ?", append(args, q.Limit+1)
}

// Accounts implements admin.Store.
func (s *Store) Accounts(ctx context.Context, q admin.AccountQuery, now time.Time) ([]admin.Account, error) {
	stmt, args := accountsQuery(q, now)
	var rows []adminAccountRow
	if err := s.conn(ctx).Raw(stmt, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]admin.Account, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// AccountExists implements admin.Store.
func (s *Store) AccountExists(ctx context.Context, account resayil.AccountID) (bool, error) {
	var n int64
	if err := s.conn(ctx).Raw("SELECT COUNT(*) FROM accounts WHERE id = ?", int64(account)).Scan(&n).Error; err != nil {
		return false, err
	}
	return n > 0, nil
}

// Ledger implements admin.Store: newest first by id (ids grow with
// created_at), on ix_credit_ledger_account.
func (s *Store) Ledger(ctx context.Context, account resayil.AccountID, before int64, limit int) ([]admin.LedgerEntry, error) {
	var rows []struct {
		ID            int64
		Reference     string
		Kind          string
		AmountCredits int64
		Reason        string
		ActorUserID   *int64
		CreatedAt     time.Time
	}
	q := s.conn(ctx).Table("credit_ledger").Where("account_id = ?", int64(account))
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	out := make([]admin.LedgerEntry, len(rows))
	for i, r := range rows {
		out[i] = admin.LedgerEntry{ID: r.ID, Reference: r.Reference, Kind: r.Kind, Amount: r.AmountCredits,
			Reason: r.Reason, ActorUserID: r.ActorUserID, CreatedAt: r.CreatedAt}
	}
	return out, nil
}
