package testutil

import (
	"bytes"
	"sync"
)

// SyncBuffer is a goroutine-safe io.Writer that keeps everything written,
// for logs and process output that a test shows when it fails.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Len is the number of bytes written so far (an offset for TailFrom).
func (s *SyncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// Tail returns the last n bytes written.
func (s *SyncBuffer) Tail(n int) string { return s.TailFrom(0, n) }

// TailFrom returns what was written after offset from, at most its last n
// bytes ("…" marks a cut).
func (s *SyncBuffer) TailFrom(from, n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.b.Bytes()[from:]
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}
