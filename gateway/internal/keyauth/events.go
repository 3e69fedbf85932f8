package keyauth

import (
	"strconv"
	"strings"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
)

// HandleEvent drops what an account-changed event makes stale; pass it to
// accountevents.Subscriber.Subscribe. It is quick (a scan of the cache under
// each shard's lock in turn), as Subscribe asks.
//
//   - key_revoked: the key named by Subject (its id).
//   - account_disabled, account_enabled: the account's keys and the keys of
//     the user named by Subject ("user:<id>"), which include the user's keys
//     on a team's account.
//   - plan_changed: the account's keys; with account 0 (a plan definition
//     changed), every key. Whoever owns the PlanSet reloads it as well.
//   - wallet_granted, cloud_budget_changed: nothing cached here depends on them.
//   - resync, and any kind this gateway does not know: everything
//     (the accountevents contract).
//
// An event whose Subject cannot be read falls back to the wider
// invalidation, never to none.
func (a *Authenticator) HandleEvent(ev accountevents.Event) {
	switch ev.Kind {
	case accountevents.KindKeyRevoked:
		if id, err := strconv.ParseInt(ev.Subject, 10, 64); err == nil && id > 0 {
			a.InvalidateKeyID(resayil.APIKeyID(id))
			return
		}
		a.invalidateAccountOrAll(ev.Account)
	case accountevents.KindAccountDisabled, accountevents.KindAccountEnabled:
		if rest, ok := strings.CutPrefix(ev.Subject, "user:"); ok {
			if id, err := strconv.ParseInt(rest, 10, 64); err == nil && id > 0 {
				a.invalidate(func(e *entry) bool {
					return !e.found || e.principal.UserID == resayil.UserID(id) || e.principal.Account == ev.Account
				})
				return
			}
		}
		a.invalidateAccountOrAll(ev.Account)
	case accountevents.KindPlanChanged:
		a.invalidateAccountOrAll(ev.Account)
	case accountevents.KindWalletGranted, accountevents.KindCloudBudgetChanged:
	default:
		a.InvalidateAll()
	}
}

func (a *Authenticator) invalidateAccountOrAll(id resayil.AccountID) {
	if id > 0 {
		a.InvalidateAccount(id)
		return
	}
	a.InvalidateAll()
}
