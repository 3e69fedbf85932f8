package authlog

import "testing"

// SetAfterHangup makes f run after each SIGHUP's reopen, until the test ends.
func SetAfterHangup(t *testing.T, f func()) {
	prev := afterHangup
	afterHangup = f
	t.Cleanup(func() { afterHangup = prev })
}
