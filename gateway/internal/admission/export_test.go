package admission

// FireRenewal runs the ticket's renewal as its timer would.
func FireRenewal(t *Ticket) { t.renew(t.lease / 3) }

// RenewalArmed reports whether the renewal timer would fire again.
func RenewalArmed(t *Ticket) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.stopped
}
