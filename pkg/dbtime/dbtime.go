// Package dbtime says, in one place, how an instant is written to the
// portal's databases.
package dbtime

import "time"

// Of returns t as both databases store it: in UTC, truncated to whole
// microseconds. MySQL/MariaDB keeps DATETIME(6), microseconds and no zone;
// SQLite keeps text, which compares in time order only when every
// timestamp has the same zone and precision. Code that writes the current
// time, or compares it with one read back (leases, expiries, last-used
// times, ledger rows), writes Of(now) so that both dialects hold, and
// return, the same instant.
func Of(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
