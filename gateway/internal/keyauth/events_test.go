package keyauth_test

import (
	"testing"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/accountevents"
)

func TestHandleEvent(t *testing.T) {
	const (
		keyTeam  = "sk-ttTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"
		keyOther = "sk-ooOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOOO"
	)
	all := []string{keyA, keyB, keyTeam, keyOther}
	for _, tc := range []struct {
		name    string
		ev      accountevents.Event
		dropped []string // keys looked up again afterwards
	}{
		{"KeyRevoked", accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: 10, Subject: "1"}, []string{keyA}},
		{"KeyRevokedBadSubject", accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: 10, Subject: "x"}, []string{keyA, keyB}},
		{"AccountDisabled", accountevents.Event{Kind: accountevents.KindAccountDisabled, Account: 10, Subject: "user:100"},
			[]string{keyA, keyB, keyTeam}},
		{"AccountEnabledNoSubject", accountevents.Event{Kind: accountevents.KindAccountEnabled, Account: 10}, []string{keyA, keyB}},
		{"PlanChanged", accountevents.Event{Kind: accountevents.KindPlanChanged, Account: 30}, []string{keyTeam}},
		{"PlanDefinitionChanged", accountevents.Event{Kind: accountevents.KindPlanChanged}, all},
		{"WalletGranted", accountevents.Event{Kind: accountevents.KindWalletGranted, Account: 10}, nil},
		{"CloudBudget", accountevents.Event{Kind: accountevents.KindCloudBudgetChanged}, nil},
		{"Resync", accountevents.Resync(newClock().Now()), all},
		{"UnknownKind", accountevents.Event{Kind: "something_new", Account: 10}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newKeyTable()
			store.put(keyA, principal(1, 10, 100))
			store.put(keyB, principal(2, 10, 101))
			store.put(keyTeam, principal(3, 30, 100)) // user 100's key on team account 30
			store.put(keyOther, principal(4, 40, 400))
			a := newAuth(t, store, newClock(), keyauth.Config{})
			for _, k := range all {
				mustAuth(t, a, k)
			}
			a.HandleEvent(tc.ev)
			for _, k := range all {
				before := store.calls.Load()
				mustAuth(t, a, k)
				want := int64(0)
				for _, d := range tc.dropped {
					if d == k {
						want = 1
					}
				}
				if got := store.calls.Load() - before; got != want {
					t.Errorf("key %s: %d lookups after the event, want %d", k[:5], got, want)
				}
			}
		})
	}
}
