package sheets

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"marketingbot/sim/emulator/sheets/internal/a1"
)

// Reading goes straight through the zip and a streaming XML decoder: a
// 100,000-row sheet loads in seconds and little memory, and every cell keeps
// its type, formula and cached value, which excelize's row iterator does not
// report. Writing uses excelize.

var errNoFile = errors.New("no such file")

// loadXLSXFile reads the workbook at p as the spreadsheet id.
func loadXLSXFile(p, id string) (*book, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoFile
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	title := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	return readWorkbook(context.Background(), f, st.Size(), id, title)
}

// LoadXLSX creates or replaces the spreadsheet id with the workbook in r, e.g.
// an export of the production spreadsheet. ctx is checked between sheets.
func (s *Server) LoadXLSX(ctx context.Context, id string, r io.ReaderAt, size int64) error {
	if id == "" {
		return errors.New("sheets emulator: load xlsx: empty spreadsheet id")
	}
	b, err := readWorkbook(ctx, r, size, id, id)
	if err != nil {
		return fmt.Errorf("sheets emulator: load xlsx %s: %w", id, err)
	}
	s.install(b)
	return nil
}

type xlsxPackage struct {
	files map[string]*zip.File
}

func (p *xlsxPackage) open(name string) (io.ReadCloser, error) {
	f := p.files[strings.TrimPrefix(name, "/")]
	if f == nil {
		return nil, fmt.Errorf("part %s missing", name)
	}
	return f.Open()
}

func (p *xlsxPackage) decode(name string, v any) error {
	rc, err := p.open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := xml.NewDecoder(bufio.NewReader(rc)).Decode(v); err != nil {
		return fmt.Errorf("part %s: %w", name, err)
	}
	return nil
}

type relationships struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

// relsOf reads the relationships of part and resolves their targets to
// package paths.
func (p *xlsxPackage) relsOf(part string) (map[string]string, map[string]string, error) {
	dir, base := path.Split(part)
	var rels relationships
	if err := p.decode(dir+"_rels/"+base+".rels", &rels); err != nil {
		return nil, nil, err
	}
	byID, byType := map[string]string{}, map[string]string{}
	for _, r := range rels.Rels {
		target := r.Target
		if strings.HasPrefix(target, "/") {
			target = strings.TrimPrefix(target, "/")
		} else {
			target = path.Join(dir, target)
		}
		byID[r.ID] = target
		byType[r.Type[strings.LastIndexByte(r.Type, '/')+1:]] = target
	}
	return byID, byType, nil
}

type workbookXML struct {
	Sheets []struct {
		Name  string     `xml:"name,attr"`
		Attrs []xml.Attr `xml:",any,attr"`
	} `xml:"sheets>sheet"`
	WorkbookPr struct {
		Date1904 bool `xml:"date1904,attr"`
	} `xml:"workbookPr"`
}

type stylesXML struct {
	NumFmts []struct {
		ID   int    `xml:"numFmtId,attr"`
		Code string `xml:"formatCode,attr"`
	} `xml:"numFmts>numFmt"`
	CellXfs []struct {
		NumFmtID int `xml:"numFmtId,attr"`
	} `xml:"cellXfs>xf"`
}

type coreXML struct {
	Title string `xml:"title"`
}

// readWorkbook parses an .xlsx package into a book named id.
func readWorkbook(ctx context.Context, r io.ReaderAt, size int64, id, fallbackTitle string) (*book, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not an xlsx file: %w", err)
	}
	p := &xlsxPackage{files: map[string]*zip.File{}}
	for _, f := range zr.File {
		p.files[strings.TrimPrefix(f.Name, "/")] = f
	}
	workbookPart := "xl/workbook.xml"
	if _, byType, err := p.relsOf(""); err == nil && byType["officeDocument"] != "" {
		workbookPart = byType["officeDocument"]
	}
	var wb workbookXML
	if err := p.decode(workbookPart, &wb); err != nil {
		return nil, err
	}
	relByID, relByType, err := p.relsOf(workbookPart)
	if err != nil {
		return nil, err
	}
	rd, err := p.sheetReader(wb, relByType)
	if err != nil {
		return nil, err
	}
	b := &book{id: id, title: fallbackTitle}
	var core coreXML
	if err := p.decode("docProps/core.xml", &core); err == nil && strings.TrimSpace(core.Title) != "" {
		b.title = core.Title
	}
	meta, byName, err := p.readSheets(ctx, rd, b, wb, relByID)
	if err != nil {
		return nil, err
	}
	if len(b.sheets) == 0 {
		return nil, errors.New("the workbook has no sheets")
	}
	ids := map[*sheet]bool{}
	if meta != nil {
		if err := applyMeta(b, meta, byName, ids); err != nil {
			return nil, fmt.Errorf("sheet %s: %w", metaSheet, err)
		}
	}
	completeSheets(b, ids)
	return b, nil
}

// sheetReader prepares what reading cells needs from the workbook: the
// shared strings, the date formats of the cell styles and the date system.
func (p *xlsxPackage) sheetReader(wb workbookXML, relByType map[string]string) (*sheetReader, error) {
	var (
		sst []string
		err error
	)
	if part := relByType["sharedStrings"]; part != "" {
		if sst, err = p.readSharedStrings(part); err != nil {
			return nil, err
		}
	}
	dates := map[int]string{} // cell style index → Go layout of its date format
	if part := relByType["styles"]; part != "" {
		var st stylesXML
		if err := p.decode(part, &st); err != nil {
			return nil, err
		}
		custom := map[int]string{}
		for _, nf := range st.NumFmts {
			custom[nf.ID] = nf.Code
		}
		for i, xf := range st.CellXfs {
			code, ok := custom[xf.NumFmtID]
			if !ok {
				code, ok = builtinDateFormats[xf.NumFmtID]
			}
			if !ok {
				continue
			}
			if layout, ok := dateLayout(code); ok {
				dates[i] = layout
			}
		}
	}
	epoch := sheetsEpoch
	if wb.WorkbookPr.Date1904 {
		epoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &sheetReader{sst: sst, dates: dates, epoch: epoch}, nil
}

// readSheets reads every worksheet into b, in workbook order, except the
// emulator's meta sheet, which it returns apart.
func (p *xlsxPackage) readSheets(ctx context.Context, rd *sheetReader, b *book, wb workbookXML, relByID map[string]string) (meta *sheet, byName map[string]*sheet, err error) {
	byName = map[string]*sheet{}
	for _, ws := range wb.Sheets {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		rid := ""
		for _, a := range ws.Attrs {
			if a.Name.Local == "id" {
				rid = a.Value
			}
		}
		part := relByID[rid]
		if part == "" {
			return nil, nil, fmt.Errorf("sheet %q: no worksheet part", ws.Name)
		}
		sh, err := rd.read(p, part)
		if err != nil {
			return nil, nil, fmt.Errorf("sheet %q: %w", ws.Name, err)
		}
		sh.title = ws.Name
		if ws.Name == metaSheet {
			meta = sh
			continue
		}
		byName[ws.Name] = sh
		b.sheets = append(b.sheets, sh)
	}
	return meta, byName, nil
}

// completeSheets gives every sheet a grid size and the sheets without an
// id from the meta sheet (those not in ids) one.
func completeSheets(b *book, ids map[*sheet]bool) {
	taken := map[int64]bool{}
	for sh := range ids {
		taken[sh.id] = true
	}
	for i, sh := range b.sheets {
		sh.trim()
		if sh.rowCount == 0 {
			sh.rowCount = DefaultRowCount
		}
		if sh.colCount == 0 {
			sh.colCount = DefaultColumnCount
		}
		sh.rowCount = max(sh.rowCount, len(sh.rows))
		sh.colCount = max(sh.colCount, sh.dataWidth())
		if ids[sh] {
			continue
		}
		// Like Google: the first sheet is 0, others get large ids derived
		// from the title, stable across reloads.
		id := titleID(sh.title)
		if i == 0 {
			id = 0
		}
		for taken[id] {
			id++
		}
		sh.id, taken[id] = id, true
	}
}

// applyMeta restores what the emulator stored in its meta sheet.
func applyMeta(b *book, meta *sheet, byName map[string]*sheet, ids map[*sheet]bool) error {
	text := func(row []cell, i int) string {
		if i < len(row) {
			return row[i].formatted()
		}
		return ""
	}
	if len(meta.rows) == 0 || text(meta.rows[0], 1) != metaFormat {
		return nil // not ours: leave the workbook as it is
	}
	for _, row := range meta.rows[1:] {
		switch text(row, 0) {
		case "spreadsheet":
			if t := text(row, 2); t != "" {
				b.title = t
			}
		case "sheet":
			sh := byName[text(row, 1)]
			if sh == nil {
				continue
			}
			if t := text(row, 2); t != "" {
				sh.title = t
			}
			if id, err := strconv.ParseInt(text(row, 3), 10, 64); err == nil && id >= 0 {
				sh.id = id
				ids[sh] = true
			}
			sh.rowCount, _ = strconv.Atoi(text(row, 4))
			sh.colCount, _ = strconv.Atoi(text(row, 5))
		case "long":
			sh := byName[text(row, 1)]
			r, err := a1.Parse(text(row, 2))
			if sh == nil || err != nil {
				continue
			}
			var full strings.Builder
			for i := 3; i < len(row); i++ {
				full.WriteString(text(row, i))
			}
			// Only restore over the truncated copy we wrote: a cell edited
			// in a spreadsheet program since then keeps its new text.
			if c := sh.at(r.StartRow-1, r.StartCol); c != nil && c.k == kindText && strings.HasPrefix(full.String(), c.s) {
				c.s = full.String()
			}
		}
	}
	seen := map[string]bool{}
	for _, sh := range b.sheets {
		if k := strings.ToLower(sh.title); seen[k] {
			return fmt.Errorf("sheet title %q is used twice", sh.title)
		} else {
			seen[k] = true
		}
	}
	return nil
}

// readSharedStrings reads the shared string table: the text of every <si>,
// rich text runs joined, phonetic hints left out.
func (p *xlsxPackage) readSharedStrings(part string) ([]string, error) {
	rc, err := p.open(part)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	var (
		out       []string
		buf       []byte
		inT, inPh bool
	)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", part, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				buf = buf[:0]
			case "t":
				inT = !inPh
			case "rPh":
				inPh = true
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				out = append(out, string(buf))
			case "t":
				inT = false
			case "rPh":
				inPh = false
			}
		case xml.CharData:
			if inT {
				buf = append(buf, t...)
			}
		}
	}
}

// sheetReader turns worksheet XML into a sheet.
type sheetReader struct {
	sst   []string
	dates map[int]string
	epoch time.Time
}

type sharedFormula struct {
	text     string // without "="
	row, col int
}

// rawCell is a <c> element as read.
type rawCell struct {
	row, col int
	typ      string
	style    int
	v, is    []byte
	f        []byte
	fShared  string // si of a shared formula
	hasF     bool
}

func (rd *sheetReader) read(p *xlsxPackage, part string) (*sheet, error) {
	rc, err := p.open(part)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dec := xml.NewDecoder(bufio.NewReaderSize(rc, 256<<10))
	w := &worksheetParser{rd: rd, sh: &sheet{}, shared: map[string]sharedFormula{}, rowIdx: -1, colIdx: -1, rowLast: -1}
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", part, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			err = w.start(t)
		case xml.EndElement:
			err = w.end(t)
		case xml.CharData:
			if w.target != nil {
				*w.target = append(*w.target, t...)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	w.flushRow()
	return w.sh, nil
}

// worksheetParser is the state of reading one worksheet's XML: the row and
// cell being read, where character data goes, and the row's cells so far.
type worksheetParser struct {
	rd      *sheetReader
	sh      *sheet
	shared  map[string]sharedFormula
	rowIdx  int
	colIdx  int
	cur     rawCell
	inCell  bool
	target  *[]byte // where character data goes
	inIS    bool
	inPh    bool
	rowBuf  []cell
	rowLast int
}

// flushRow stores the row read so far without its trailing empty cells.
func (w *worksheetParser) flushRow() {
	if w.rowIdx < 0 || w.rowLast < 0 {
		return
	}
	n := w.rowLast + 1
	for n > 0 && w.rowBuf[n-1].empty() {
		n--
	}
	if n > 0 {
		row := make([]cell, n)
		copy(row, w.rowBuf[:n])
		if w.rowIdx >= len(w.sh.rows) {
			w.sh.rows = append(w.sh.rows, make([][]cell, w.rowIdx+1-len(w.sh.rows))...)
		}
		w.sh.rows[w.rowIdx] = row
	}
	clear(w.rowBuf)
	w.rowLast = -1
}

func (w *worksheetParser) start(t xml.StartElement) error {
	switch t.Name.Local {
	case "row":
		return w.startRow(t)
	case "c":
		return w.startCell(t)
	case "v":
		if w.inCell {
			w.target = &w.cur.v
		}
	case "f":
		if w.inCell {
			w.cur.hasF = true
			if attr(t, "t") == "shared" {
				w.cur.fShared = attr(t, "si")
			}
			w.target = &w.cur.f
		}
	case "is":
		w.inIS = w.inCell
	case "rPh":
		w.inPh = true
	case "t":
		if w.inIS && !w.inPh {
			w.target = &w.cur.is
		}
	}
	return nil
}

func (w *worksheetParser) end(t xml.EndElement) error {
	switch t.Name.Local {
	case "v", "f", "t":
		w.target = nil
	case "is":
		w.inIS = false
	case "rPh":
		w.inPh = false
	case "c":
		return w.endCell()
	case "row":
		w.flushRow()
	}
	return nil
}

func (w *worksheetParser) startRow(t xml.StartElement) error {
	w.flushRow()
	next := w.rowIdx + 1
	if v := attr(t, "r"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > a1.MaxRows {
			return fmt.Errorf("bad row number %q", v)
		}
		next = n - 1
	}
	if next <= w.rowIdx && w.rowIdx >= 0 {
		return fmt.Errorf("rows out of order at %d", next+1)
	}
	w.rowIdx, w.colIdx = next, -1
	return nil
}

func (w *worksheetParser) startCell(t xml.StartElement) error {
	if w.rowIdx < 0 {
		w.rowIdx = 0
	}
	w.cur = rawCell{row: w.rowIdx, col: w.colIdx + 1}
	if ref := attr(t, "r"); ref != "" {
		r, err := a1.Parse(ref)
		if err != nil || r.Sheet != "" || r.EndRow != r.StartRow || r.EndCol != r.StartCol {
			return fmt.Errorf("bad cell reference %q", ref)
		}
		if r.StartRow-1 != w.rowIdx {
			return fmt.Errorf("cell %s outside its row %d", ref, w.rowIdx+1)
		}
		w.cur.col = r.StartCol
	}
	if w.cur.col <= w.colIdx {
		return fmt.Errorf("cells out of order at row %d", w.rowIdx+1)
	}
	w.colIdx = w.cur.col
	w.cur.typ = attr(t, "t")
	w.cur.style, _ = strconv.Atoi(attr(t, "s"))
	w.inCell = true
	return nil
}

func (w *worksheetParser) endCell() error {
	w.inCell = false
	cur := &w.cur
	c, err := w.rd.cellOf(cur, w.shared)
	if err != nil {
		return fmt.Errorf("cell %s%d: %w", a1.ColumnName(cur.col), cur.row+1, err)
	}
	if c.empty() {
		return nil
	}
	if cur.col >= a1.MaxColumns {
		return fmt.Errorf("cell beyond column %s", a1.ColumnName(a1.MaxColumns-1))
	}
	if cur.col >= len(w.rowBuf) {
		w.rowBuf = append(w.rowBuf, make([]cell, cur.col+1-len(w.rowBuf))...)
	}
	w.rowBuf[cur.col] = c
	w.rowLast = cur.col
	return nil
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// cellOf interprets a raw cell: its value by type, a date format turning a
// number into a displayed date, and its formula.
func (rd *sheetReader) cellOf(rc *rawCell, shared map[string]sharedFormula) (cell, error) {
	var c cell
	v := string(rc.v)
	switch rc.typ {
	case "s":
		if v == "" {
			break
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(rd.sst) {
			return cell{}, fmt.Errorf("bad shared string index %q", v)
		}
		c = textCell(rd.sst[i])
	case "str":
		c = textCell(v)
	case "inlineStr":
		c = textCell(string(rc.is))
	case "b":
		if v != "" {
			c = boolCell(strings.TrimSpace(v) == "1")
		}
	case "e":
		if v != "" {
			c = cell{k: kindError, s: v}
		}
	case "d":
		if v == "" {
			break
		}
		t, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", v)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05", v); err != nil {
				if t, err = time.Parse("2006-01-02", v); err != nil {
					return cell{}, fmt.Errorf("bad date %q", v)
				}
			}
		}
		layout := "2006-01-02 15:04:05"
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
			layout = "2006-01-02"
		}
		c = cell{k: kindNumber, n: serialFromTime(t), s: t.Format(layout)}
	default:
		if strings.TrimSpace(v) == "" {
			break
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return cell{}, fmt.Errorf("bad number %q", v)
		}
		c = cell{k: kindNumber, n: n}
		if layout, ok := rd.dates[rc.style]; ok {
			t := rd.epoch.Add(time.Duration(n*86400+0.5) * time.Second)
			c.s = t.Format(layout)
			c.n = serialFromTime(t) // 1904-based files count from another day 0
		}
	}
	if !rc.hasF {
		return c, nil
	}
	text := string(rc.f)
	if rc.fShared != "" {
		if text != "" {
			shared[rc.fShared] = sharedFormula{text: text, row: rc.row, col: rc.col}
		} else if m, ok := shared[rc.fShared]; ok {
			text = shiftFormula(m.text, rc.row-m.row, rc.col-m.col)
		}
	}
	if text == "" {
		return c, nil
	}
	c.formula = "=" + text
	if c.k == kindEmpty && len(rc.v) == 0 {
		c.k, c.s = kindError, FormulaPlaceholder // never computed
	}
	return c, nil
}
