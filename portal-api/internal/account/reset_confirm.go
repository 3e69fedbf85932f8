package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
)

// ErrInvalidResetCode answers every refused code alike: an unknown
// account, a wrong code, an expired, used, superseded or exhausted one.
var ErrInvalidResetCode = resayil.Invalid(resayil.FieldError{Field: "code",
	Message: "The code is invalid or has expired. Request a new one."})

// ResetConfirmation sets a new password with a code.
type ResetConfirmation struct {
	ResetIdentity
	Code        string
	NewPassword string
	// IP is the client's address, for throttling and the failure log.
	IP string
}

// Confirm checks the code and, when it is right, sets the new password
// and ends every session of the user. Malformed fields are resayil.EINVALID
// naming them (the new password as at registration); a refused code is
// ErrInvalidResetCode, after at least the answer time; too many attempts
// from the address, or no free hashing slot, is a *ThrottledError.
func (s *ResetService) Confirm(ctx context.Context, c ResetConfirmation) error {
	id, code, err := confirmationProblems(c)
	if err != nil {
		return err
	}
	// The hashing slot first, as for logins: a busy answer then uses up
	// neither the address's allowance nor a try of the code.
	release, err := s.gate.Acquire(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	reason, err := s.confirm(ctx, id, code, c)
	release()
	if reason == "" {
		return err
	}
	if s.OnBadCode != nil {
		s.OnBadCode(ctx, ResetFailure{IP: c.IP, Reason: reason})
	}
	s.log.Info("password reset code refused", "reason", reason, "ip", c.IP)
	s.pad(ctx, start)
	return ErrInvalidResetCode
}

// confirmationProblems checks every field at once. The new password is
// checked against what the request itself gives (its e-mail or phone);
// against the rest of the user's details only once the code is known to
// be right, since before that a different answer would tell that the
// account exists.
func confirmationProblems(c ResetConfirmation) (ResetIdentity, string, error) {
	fields := identityProblems(c.ResetIdentity)
	if msg := ResetCodeProblem(c.Code); msg != "" {
		fields = append(fields, resayil.FieldError{Field: "code", Message: msg})
	}
	var given Personal
	if c.Email != nil {
		given.Email = *c.Email
	}
	if c.Phone != nil {
		given.Phone = *c.Phone
	}
	if c.NewPassword == "" {
		fields = append(fields, resayil.FieldError{Field: "new_password", Message: "This field is required."})
	} else if msg := firstProblem(PasswordProblem(c.NewPassword), PersonalPasswordProblem(c.NewPassword, given)); msg != "" {
		fields = append(fields, resayil.FieldError{Field: "new_password", Message: msg})
	}
	if len(fields) > 0 {
		return ResetIdentity{}, "", resayil.Invalid(fields...)
	}
	id, _, err := normalizeIdentity(c.ResetIdentity)
	if err != nil {
		return ResetIdentity{}, "", err
	}
	code, _ := NormalizeResetCode(c.Code)
	return id, code, nil
}

// confirm does the work under the hashing slot. A non-empty reason means
// the code is refused (err is then nil); otherwise err is the outcome.
//
// The code is checked in one step and used in another, with the bcrypt
// hash of the new password between them: hashing inside the transaction
// would hold SQLite's one write lock for a quarter of a second. A try is
// taken before the comparison (exact under concurrency), and the code is
// marked used only if no one used or superseded it since, in the same
// transaction as the new password and the ended sessions.
func (s *ResetService) confirm(ctx context.Context, id ResetIdentity, code string, c ResetConfirmation) (reason string, err error) {
	if err := s.allow(ctx, "reset:confirm:ip:"+c.IP, s.limits.ConfirmPerIP); err != nil {
		return "", err
	}
	now := dbtime.Of(s.now())
	u, err := s.store.UserForReset(ctx, id)
	switch {
	case resayil.ErrorCode(err) == resayil.ENOTFOUND, errors.Is(err, ErrAmbiguousPhone):
		return "unknown_account", nil
	case err != nil:
		return "", fmt.Errorf("find the user to reset: %w", err)
	case u.Disabled():
		return "unknown_account", nil
	}
	r, err := s.store.LatestReset(ctx, u.ID)
	switch {
	case resayil.ErrorCode(err) == resayil.ENOTFOUND:
		return "no_code", nil
	case err != nil:
		return "", fmt.Errorf("load the reset code: %w", err)
	}
	took, err := s.store.TakeResetAttempt(ctx, r.ID, MaxResetAttempts, now)
	if err != nil {
		return "", fmt.Errorf("count a reset attempt: %w", err)
	}
	if !took {
		return "ended", nil
	}
	if !s.codes.matches(u.ID, code, r.CodeHash) {
		return "wrong_code", nil
	}
	// The code is right, so whoever sent it may learn about the account.
	if msg := PersonalPasswordProblem(c.NewPassword, Personal{Email: u.Email, Name: u.Name, Phone: u.Phone}); msg != "" {
		return "", resayil.Invalid(resayil.FieldError{Field: "new_password", Message: msg})
	}
	hash, err := s.hasher.Hash(c.NewPassword)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	ended, err := s.store.CompleteReset(ctx, r.ID, u.ID, hash, now)
	if errors.Is(err, ErrResetUsed) {
		return "ended", nil
	}
	if err != nil {
		return "", fmt.Errorf("complete the password reset: %w", err)
	}
	s.log.Info("password reset", "user_id", int64(u.ID), "sessions_ended", ended)
	return "", nil
}
