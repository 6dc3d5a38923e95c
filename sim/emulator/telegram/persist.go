package telegram

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrCorruptState is wrapped by LoadFile and NewWithState when the state
// file exists but cannot be used: not JSON, truncated, another version, or
// contents that fail Restore's checks.
var ErrCorruptState = errors.New("corrupt state file")

// NewWithState is New for a Server whose state lives in opts.StatePath: the
// file is loaded now (a missing file means an empty emulator), written once
// straight away so that an unwritable path fails here rather than at the
// first save, saved again about opts.StateSaveDelay after changes, and
// saved by Close. On any error nothing is left running and the file is
// untouched. With an empty StatePath it is New.
func NewWithState(opts Options) (*Server, error) {
	path := opts.StatePath
	opts.StatePath = ""
	s := New(opts)
	if path == "" {
		return s, nil
	}
	if err := s.LoadFile(path); err != nil {
		s.Close()
		return nil, err
	}
	s.autosavePath = path
	s.saveMu.Lock()
	err := s.saveTo(path)
	s.saveMu.Unlock()
	if err != nil {
		s.autosavePath = "" // Close must not retry the write
		s.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.autosave(path)
	return s, nil
}

// SaveFile writes the state (see Snapshot) to path as JSON. The write is
// atomic: a temporary file in the same directory is written, synced and
// renamed over path, so a crash leaves either the old file or the new one.
// The file is readable by its owner only: it holds phone numbers and the
// webhook's secret token.
func (s *Server) SaveFile(path string) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	return s.saveTo(path)
}

// LoadFile restores the state saved by SaveFile. A missing file is not an
// error: there is nothing to restore. A file that cannot be used returns an
// error wrapping ErrCorruptState and leaves the Server unchanged.
func (s *Server) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("telegram emulator: load state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("telegram emulator: load state %s: %w: %v", path, ErrCorruptState, err)
	}
	if err := s.restore(st, false); err != nil {
		return fmt.Errorf("telegram emulator: load state %s: %w: %v", path, ErrCorruptState, err)
	}
	return nil
}

// Flush saves the state to Options.StatePath now if it changed since the
// last save. Close calls it; call it yourself to learn whether the final
// save worked. Without a StatePath it does nothing.
func (s *Server) Flush() error {
	if s.autosavePath == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	unchanged := s.gen == s.savedGen
	s.mu.Unlock()
	if unchanged {
		return nil
	}
	return s.saveTo(s.autosavePath)
}

// saveTo snapshots the state and writes it to path. The caller holds
// saveMu, which keeps saves in order: an older snapshot never lands after
// a newer one.
func (s *Server) saveTo(path string) error {
	s.mu.Lock()
	st := s.snapshotLocked()
	gen := s.gen
	s.mu.Unlock()
	// Encoding happens outside the lock: the snapshot shares only bytes
	// the Server never modifies.
	if err := writeStateFile(path, &st); err != nil {
		return err
	}
	if path == s.autosavePath {
		s.savedGen = gen
	}
	if st.FilesDropped > 0 && st.FilesDropped != s.filesDropped {
		s.opts.Logger.Warn("telegram emulator: state file keeps only the newest files",
			"state_path", path, "files_dropped", st.FilesDropped, "budget_bytes", stateFileBudget)
	}
	s.filesDropped = st.FilesDropped
	return nil
}

func writeStateFile(path string, st *State) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("telegram emulator: save state: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			err = fmt.Errorf("telegram emulator: save state %s: %w", path, err)
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	enc := json.NewEncoder(w)
	// Unescaped, so that the JSON fragments the Server compares byte for
	// byte (reply markups, entities) come back exactly as they were.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename is durable only once the directory is synced. Some
	// filesystems refuse to sync a directory; the file is in place anyway.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// autosave saves the state StateSaveDelay after the first unsaved change,
// so a burst of changes costs one write, and retries failed saves.
func (s *Server) autosave(path string) {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return // Close saves
		case <-s.dirty:
		}
		timer := time.NewTimer(s.opts.StateSaveDelay)
		select {
		case <-s.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if err := s.Flush(); err != nil {
			s.opts.Logger.Warn("telegram emulator: save state failed", "state_path", path, "error", err)
			s.mu.Lock()
			s.markDirtyLocked() // try again after the next delay
			s.mu.Unlock()
		}
	}
}

// markDirtyLocked records a change of the saved state and wakes the
// autosaver, if there is one.
func (s *Server) markDirtyLocked() {
	s.gen++
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}
