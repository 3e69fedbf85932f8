package redisbatch

// Pending is the number of requests queued behind the pipeline in flight.
func (c *Combiner) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}
