package ai

import "time"

// SetFirstBackoff shortens the 5xx backoff so that budget tests run in milliseconds.
func SetFirstBackoff(c *Client, d time.Duration) { c.firstBackoff = d }

// Recheck makes the next Text look at the file again (it does at most once a second).
func Recheck(p *PromptFile) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checked = time.Time{}
}
