package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// GrantRequest is an operator's grant of credits.
type GrantRequest struct {
	Email  string
	Amount resayil.Credits
	// Reason is required: the ledger and the audit log say why.
	Reason string
	// Actor names the operator's tool, e.g. "cli".
	Actor string
}

// GrantResult is what Grant did.
type GrantResult struct {
	Owner Owner
	Grant wallet.Grant
	// Live reports that the live wallet has the grant (always in embedded
	// mode; in Redis mode once walletredis applied it).
	Live bool
}

// Validate reports what is wrong with the request, as field errors.
func (r GrantRequest) Validate() error {
	switch {
	case strings.TrimSpace(r.Email) == "":
		return invalid("email", "The e-mail address is required.")
	case r.Amount <= 0:
		return invalid("amount", "The amount must be a positive whole number of credits, got %d.", r.Amount)
	case strings.TrimSpace(r.Reason) == "":
		return invalid("reason", "A reason is required.")
	case len(strings.TrimSpace(r.Reason)) > MaxReasonLen:
		return invalid("reason", "The reason must be at most %d bytes.", MaxReasonLen)
	}
	return nil
}

// NewAdminReference returns a fresh admin:<uuid> ledger reference.
func NewAdminReference() string { return KindAdmin + ":" + newUUID() }

// Grant credits an account by hand: it commits the ledger row (reference
// admin:<uuid>), the durable balance and the audit row in one transaction,
// then applies the grant to the live wallet once (see the package doc).
//
// A request that fails validation or names an unknown e-mail changes
// nothing. When the commit succeeded but the live apply did not, the result
// is returned with an error wrapping ErrNotLive: the grant is recorded and
// the Reconciler will apply it, so the caller must not grant again.
func (s *Service) Grant(ctx context.Context, req GrantRequest) (GrantResult, error) {
	if err := req.Validate(); err != nil {
		return GrantResult{}, err
	}
	owner, err := s.owner(ctx, req.Email)
	if err != nil {
		return GrantResult{}, err
	}
	reason := strings.TrimSpace(req.Reason)
	g := wallet.Grant{Reference: NewAdminReference(), Account: owner.Account, Amount: req.Amount, Kind: KindAdmin, Reason: reason}
	if err := g.Validate(); err != nil {
		return GrantResult{}, err
	}
	audit := Audit{
		Actor: req.Actor, Action: AuditCreditsGrant,
		TargetType: "account", TargetID: strconv.FormatInt(int64(owner.Account), 10),
		Details: map[string]any{
			"email": owner.Email, "user_id": owner.User, "reference": g.Reference,
			"amount_credits": g.Amount, "reason": reason,
		},
	}
	now := clock(s.now)
	applied, err := s.store.RecordGrant(ctx, g, s.embedded(), audit, now)
	if err != nil {
		return GrantResult{}, fmt.Errorf("record grant: %w", err)
	}
	if !applied {
		// A fresh random reference cannot be in the ledger already.
		return GrantResult{}, resayil.Errorf(resayil.ECONFLICT, "The ledger reference %s is already in use.", g.Reference)
	}
	res := GrantResult{Owner: owner, Grant: g, Live: s.embedded()}
	if s.embedded() {
		return res, nil
	}
	if _, err := applyLive(ctx, s.store, s.live, g, now); err != nil {
		s.log.Warn("grant recorded but not live yet; the reconciler retries it", "reference", g.Reference, "err", err)
		return res, fmt.Errorf("%w (reference %s): %w", ErrNotLive, g.Reference, err)
	}
	res.Live = true
	return res, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
