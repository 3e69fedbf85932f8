package api_test

import "github.com/resayil/portal/portal-api/internal/store"

func seedAdmin(email, hash string) store.AdminSeed {
	return store.AdminSeed{Email: email, Name: "Administrator", Phone: "+96500000000", PasswordHash: hash}
}
