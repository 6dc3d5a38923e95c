package telegram

import (
	"slices"
	"testing"
)

func TestBudgetFiles(t *testing.T) {
	file := func(id string, seq int64, size int) *storedFile {
		if size < 0 {
			return &storedFile{ref: fileRef{FileID: id}, seq: seq, url: "https://example.com/" + id}
		}
		return &storedFile{ref: fileRef{FileID: id}, seq: seq, data: make([]byte, size)}
	}
	tests := []struct {
		name   string
		files  []*storedFile
		budget int64
		want   []string // kept, oldest first
	}{
		{"all fit", []*storedFile{file("a", 1, 3), file("b", 2, 3)}, 10, []string{"a", "b"}},
		{"newest win", []*storedFile{file("old", 1, 6), file("mid", 2, 6), file("new", 3, 4)}, 10, []string{"mid", "new"}},
		{"an older small file fills the gap", []*storedFile{file("small", 1, 2), file("big", 2, 8), file("huge", 3, 20)}, 10, []string{"small", "big"}},
		{"files sent by URL cost nothing", []*storedFile{file("url", 1, -1), file("full", 2, 10)}, 10, []string{"url", "full"}},
		{"empty files are kept", []*storedFile{file("empty", 1, 0)}, 0, []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range budgetFiles(slices.Clone(tt.files), tt.budget) {
				got = append(got, f.ref.FileID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("kept %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSnapshotDropsFilesOverBudget checks that a dropped file disappears
// whole: its messages stay, without a download URL.
func TestSnapshotDropsFilesOverBudget(t *testing.T) {
	s := New(Options{})
	t.Cleanup(s.Close)
	old := s.PutFile("old.bin", "application/octet-stream", make([]byte, stateFileBudget/2+1))
	newer := s.PutFile("new.bin", "application/octet-stream", make([]byte, stateFileBudget/2+1))
	st := s.Snapshot()
	if st.FilesDropped != 1 || len(st.Files) != 1 || st.Files[0].FileID != newer.FileID {
		t.Fatalf("files %d kept, %d dropped; want only %s", len(st.Files), st.FilesDropped, newer.FileID)
	}
	r := New(Options{})
	t.Cleanup(r.Close)
	if err := r.Restore(st); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files[old.FileID] != nil || r.files[newer.FileID] == nil || r.filesByPath[newer.FilePath] == nil {
		t.Errorf("restored files: %v", r.files)
	}
}
