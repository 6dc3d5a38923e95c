package telegram

import "time"

// SetFirstBackoff shortens the transient-failure backoff so that tests of
// the retry limit run in milliseconds.
func SetFirstBackoff(s *Sender, d time.Duration) { s.firstBackoff = d }
