package telegram

import "time"

// SetFirstBackoff shortens the transient-failure backoff so that tests of
// the retry limit run in milliseconds.
func SetFirstBackoff(s *Sender, d time.Duration) { s.firstBackoff = d }

// SetDownloadBackoff shortens the wait between download attempts.
func SetDownloadBackoff(d *Downloader, b time.Duration) { d.firstBackoff = b }

// ReadBounded is readBounded.
var ReadBounded = readBounded
