package walletsql

import "github.com/resayil/portal/pkg/database"

// isDuplicate: a unique-index violation marks "already done" for request
// ids and grant references.
func isDuplicate(err error) bool { return database.IsDuplicate(err) }
