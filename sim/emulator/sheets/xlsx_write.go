package sheets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xuri/excelize/v2"

	"marketingbot/sim/emulator/sheets/internal/a1"
)

// The .xlsx format is stricter than Google Sheets: sheet names are limited to
// 31 characters without []:*?/\, and a cell holds at most 32,767 characters.
// The emulator therefore writes a very hidden sheet, metaSheet, holding what
// the workbook cannot: full sheet titles, sheet ids, grid sizes, the
// spreadsheet id and title, and the full text of long cells (the cell itself
// keeps a truncated copy so the file still opens everywhere).
const (
	metaSheet  = "_emulator_meta"
	metaFormat = "marketingbot-sheets-emulator/1"
	// xlsxMaxCellChars is Excel's per-cell limit, in UTF-16 units.
	xlsxMaxCellChars = 32767
	// chunkUnits is the size of the pieces a long cell is stored in.
	chunkUnits = 32000
	// maxSheetNameUnits is Excel's sheet name limit.
	maxSheetNameUnits = 31
)

// frozenBook is a deep copy of a book taken under its read lock, so that a
// slow save does not block writers.
type frozenBook struct {
	id, title string
	sheets    []*sheet
	version   uint64
}

// freeze copies b; the caller holds b.mu. All cells of a sheet share one
// allocation.
func (b *book) freeze() *frozenBook {
	fb := &frozenBook{id: b.id, title: b.title, version: b.version}
	for _, sh := range b.sheets {
		total := 0
		for _, r := range sh.rows {
			total += len(r)
		}
		backing := make([]cell, total)
		rows := make([][]cell, len(sh.rows))
		off := 0
		for i, r := range sh.rows {
			n := copy(backing[off:], r)
			rows[i] = backing[off : off+n : off+n]
			off += n
		}
		cp := *sh
		cp.rows = rows
		fb.sheets = append(fb.sheets, &cp)
	}
	return fb
}

// WriteXLSX writes the spreadsheet id to w as an .xlsx workbook. ctx is
// checked between sheets.
func (s *Server) WriteXLSX(ctx context.Context, id string, w io.Writer) error {
	b := s.lookup(id)
	if b == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	b.mu.RLock()
	fb := b.freeze()
	b.mu.RUnlock()
	if err := writeWorkbook(ctx, w, fb); err != nil {
		return fmt.Errorf("sheets emulator: write xlsx %s: %w", id, err)
	}
	return nil
}

// xlsxSheetNames maps sheet titles to names Excel accepts, unique regardless
// of case and distinct from metaSheet.
func xlsxSheetNames(titles []string) []string {
	used := map[string]bool{strings.ToLower(metaSheet): true}
	names := make([]string, len(titles))
	for i, t := range titles {
		base := strings.Map(func(r rune) rune {
			if strings.ContainsRune(`[]:*?/\`, r) || r < ' ' {
				return '_'
			}
			return r
		}, t)
		base = strings.Trim(base, "'")
		if base == "" {
			base = "Sheet"
		}
		name := truncateUnits(base, maxSheetNameUnits)
		for n := 2; used[strings.ToLower(name)]; n++ {
			suffix := "~" + strconv.Itoa(n)
			name = truncateUnits(base, maxSheetNameUnits-len(suffix)) + suffix
		}
		used[strings.ToLower(name)] = true
		names[i] = name
	}
	return names
}

// truncateUnits cuts s to at most n UTF-16 units without splitting a
// character.
func truncateUnits(s string, n int) string {
	units := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if units+w > n {
			return s[:i]
		}
		units += w
	}
	return s
}

// chunks splits s into pieces of at most chunkUnits UTF-16 units.
func chunks(s string) []string {
	var out []string
	for s != "" {
		c := truncateUnits(s, chunkUnits)
		out = append(out, c)
		s = s[len(c):]
	}
	return out
}

// overXLSXLimit reports whether s has more UTF-16 units than an Excel cell
// holds.
func overXLSXLimit(s string) bool {
	if len(s) <= xlsxMaxCellChars {
		return false // never more UTF-16 units than bytes
	}
	return truncateUnits(s, xlsxMaxCellChars) != s
}

// writeWorkbook renders fb as an .xlsx file with excelize's streaming writer.
func writeWorkbook(ctx context.Context, w io.Writer, fb *frozenBook) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	titles := make([]string, len(fb.sheets))
	for i, sh := range fb.sheets {
		titles[i] = sh.title
	}
	names := xlsxSheetNames(titles)
	if len(names) == 0 {
		names = []string{"Sheet1"}
	}
	if err := f.SetSheetName(f.GetSheetName(0), names[0]); err != nil {
		return fmt.Errorf("name sheet %q: %w", names[0], err)
	}
	for _, n := range append(names[1:], metaSheet) {
		if _, err := f.NewSheet(n); err != nil {
			return fmt.Errorf("add sheet %q: %w", n, err)
		}
	}
	ww := &workbookWriter{f: f, styles: map[string]int{}, meta: [][]any{
		{"format", metaFormat},
		{"spreadsheet", fb.id, fb.title},
	}}
	for i, sh := range fb.sheets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ww.writeSheet(sh, names[i]); err != nil {
			return err
		}
	}
	if err := ww.writeMeta(); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	if err := f.SetDocProps(&excelize.DocProperties{
		Title: fb.title, Creator: "MarketingBot Sheets emulator",
		Created: time.Now().UTC().Format(time.RFC3339),
	}); err != nil {
		return fmt.Errorf("document properties: %w", err)
	}
	return f.Write(w)
}

// workbookWriter fills one excelize file: the date styles made so far and
// the rows of the meta sheet, which keeps what an .xlsx cannot (titles
// Excel refuses, sheet ids, grid sizes, texts over Excel's cell limit).
type workbookWriter struct {
	f      *excelize.File
	styles map[string]int // number format code → excelize style id
	meta   [][]any
}

// styleFor returns the style of a date cell displayed as display.
func (ww *workbookWriter) styleFor(display string) (int, error) {
	code := numFmtFor(display)
	if id, ok := ww.styles[code]; ok {
		return id, nil
	}
	id, err := ww.f.NewStyle(&excelize.Style{CustomNumFmt: &code})
	if err != nil {
		return 0, fmt.Errorf("date style %q: %w", code, err)
	}
	ww.styles[code] = id
	return id, nil
}

// writeSheet streams sh into the worksheet name.
func (ww *workbookWriter) writeSheet(sh *sheet, name string) error {
	ww.meta = append(ww.meta, []any{"sheet", name, sh.title, strconv.FormatInt(sh.id, 10),
		strconv.Itoa(sh.rowCount), strconv.Itoa(sh.colCount)})
	sw, err := ww.f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("sheet %q: %w", sh.title, err)
	}
	for ri, row := range sh.rows {
		if len(row) == 0 {
			continue
		}
		vals := make([]any, len(row))
		for ci := range row {
			c := &row[ci]
			if c.empty() {
				continue
			}
			v, err := xlsxValue(c, ww.styleFor)
			if err != nil {
				return err
			}
			if c.k == kindText && overXLSXLimit(c.s) {
				ref := a1.ColumnName(ci) + strconv.Itoa(ri+1)
				entry := []any{"long", name, ref}
				for _, part := range chunks(c.s) {
					entry = append(entry, part)
				}
				ww.meta = append(ww.meta, entry)
			}
			vals[ci] = v
		}
		cellRef, _ := excelize.CoordinatesToCellName(1, ri+1)
		if err := sw.SetRow(cellRef, vals); err != nil {
			return fmt.Errorf("sheet %q row %d: %w", sh.title, ri+1, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("sheet %q: %w", sh.title, err)
	}
	return nil
}

// writeMeta writes and hides the meta sheet.
func (ww *workbookWriter) writeMeta() error {
	sw, err := ww.f.NewStreamWriter(metaSheet)
	if err != nil {
		return fmt.Errorf("meta sheet: %w", err)
	}
	for i, row := range ww.meta {
		cellRef, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cellRef, row); err != nil {
			return fmt.Errorf("meta sheet row %d: %w", i+1, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("meta sheet: %w", err)
	}
	if err := ww.f.SetSheetVisible(metaSheet, false, true); err != nil {
		return fmt.Errorf("hide meta sheet: %w", err)
	}
	return nil
}

// xlsxValue converts a non-empty cell for excelize's stream writer.
func xlsxValue(c *cell, styleFor func(string) (int, error)) (any, error) {
	var v any
	style := 0
	switch c.k {
	case kindText, kindError:
		v = truncateUnits(c.s, xlsxMaxCellChars)
	case kindNumber:
		v = c.n
		if c.s != "" {
			id, err := styleFor(c.s)
			if err != nil {
				return nil, err
			}
			style = id
		}
	case kindBool:
		v = c.n != 0
	}
	if c.formula == "" && style == 0 {
		return v, nil
	}
	return excelize.Cell{StyleID: style, Formula: strings.TrimPrefix(c.formula, "="), Value: v}, nil
}

// saver persists one spreadsheet to an .xlsx file: at most debounce after a
// change, and on close. Files are replaced atomically (temp file, fsync,
// rename, fsync of the directory), so a crash leaves the old or the new
// workbook, never a torn one.
type saver struct {
	s        *Server
	path, id string
	debounce time.Duration

	mu       sync.Mutex
	timer    *time.Timer
	closed   bool
	lastCost time.Duration // how long the last save took

	saveMu  sync.Mutex // one save at a time
	saved   *book      // the book and version last written
	version uint64
	exists  bool // the file holds a spreadsheet we wrote or loaded
}

func newSaver(s *Server, path, id string, debounce time.Duration) *saver {
	sv := &saver{s: s, path: path, id: id, debounce: debounce}
	if b := s.books[id]; b != nil {
		sv.saved, sv.version, sv.exists = b, b.version, true
	}
	return sv
}

// mark schedules a save unless one is pending. The timer is not pushed back
// by further changes, so a steady stream of writes is still saved every
// debounce interval. A big workbook takes a second or more to write; the
// delay grows to four times the last save so that saving under steady load
// stays a fraction of one CPU.
func (sv *saver) mark() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed || sv.timer != nil {
		return
	}
	delay := max(sv.debounce, 4*sv.lastCost)
	sv.timer = time.AfterFunc(delay, func() {
		sv.mu.Lock()
		sv.timer = nil
		sv.mu.Unlock()
		start := time.Now()
		err := sv.save()
		sv.mu.Lock()
		sv.lastCost = time.Since(start)
		sv.mu.Unlock()
		if err != nil {
			sv.s.log.Error("sheets emulator: save failed", "path", sv.path, "spreadsheet_id", sv.id, "err", err)
		}
	})
}

func (sv *saver) close() error {
	sv.mu.Lock()
	sv.closed = true
	if sv.timer != nil {
		sv.timer.Stop()
		sv.timer = nil
	}
	sv.mu.Unlock()
	return sv.save()
}

// save writes the spreadsheet if it changed since the last save, or removes
// the file if the spreadsheet was deleted.
func (sv *saver) save() error {
	sv.saveMu.Lock()
	defer sv.saveMu.Unlock()
	b := sv.s.lookup(sv.id)
	if b == nil {
		if !sv.exists {
			return nil
		}
		if err := os.Remove(sv.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sheets emulator: remove %s: %w", sv.path, err)
		}
		sv.exists, sv.saved = false, nil
		return nil
	}
	b.mu.RLock()
	if b == sv.saved && b.version == sv.version {
		b.mu.RUnlock()
		return nil
	}
	fb := b.freeze()
	b.mu.RUnlock()
	if err := writeFileAtomic(sv.path, func(w io.Writer) error { return writeWorkbook(context.Background(), w, fb) }); err != nil {
		return fmt.Errorf("sheets emulator: save %s: %w", sv.path, err)
	}
	sv.saved, sv.version, sv.exists = b, fb.version, true
	return nil
}

// writeFileAtomic replaces path with what write produces.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename is durable only once the directory entry is on disk.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
