package sheets

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"marketingbot/sim/emulator/sheets/internal/a1"
)

// Response shapes of spreadsheets.get. Ids and indexes are always sent,
// zero included, as Google does.
type spreadsheetJSON struct {
	SpreadsheetID  string      `json:"spreadsheetId"`
	Properties     bookProps   `json:"properties"`
	Sheets         []sheetJSON `json:"sheets"`
	SpreadsheetURL string      `json:"spreadsheetUrl"`
}

type bookProps struct {
	Title      string `json:"title"`
	Locale     string `json:"locale"`
	AutoRecalc string `json:"autoRecalc"`
	TimeZone   string `json:"timeZone"`
}

type sheetJSON struct {
	Properties sheetProps `json:"properties"`
	Data       []gridData `json:"data,omitempty"`
}

type sheetProps struct {
	SheetID        int64     `json:"sheetId"`
	Title          string    `json:"title"`
	Index          int       `json:"index"`
	SheetType      string    `json:"sheetType"`
	GridProperties gridProps `json:"gridProperties"`
}

type gridProps struct {
	RowCount    int `json:"rowCount"`
	ColumnCount int `json:"columnCount"`
}

type gridData struct {
	StartRow    int       `json:"startRow,omitempty"`
	StartColumn int       `json:"startColumn,omitempty"`
	RowData     []rowData `json:"rowData,omitempty"`
}

type rowData struct {
	Values []cellData `json:"values,omitempty"`
}

type cellData struct {
	UserEnteredValue *extendedValue `json:"userEnteredValue,omitempty"`
	EffectiveValue   *extendedValue `json:"effectiveValue,omitempty"`
	FormattedValue   string         `json:"formattedValue,omitempty"`
}

type extendedValue struct {
	NumberValue  *float64    `json:"numberValue,omitempty"`
	StringValue  *string     `json:"stringValue,omitempty"`
	BoolValue    *bool       `json:"boolValue,omitempty"`
	FormulaValue *string     `json:"formulaValue,omitempty"`
	ErrorValue   *errorValue `json:"errorValue,omitempty"`
}

type errorValue struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (sh *sheet) props(index int) sheetProps {
	return sheetProps{
		SheetID: sh.id, Title: sh.title, Index: index, SheetType: "GRID",
		GridProperties: gridProps{RowCount: sh.rowCount, ColumnCount: sh.colCount},
	}
}

// describe renders the spreadsheet resource; grid holds the blocks to
// include as data, per sheet (nil = properties only).
func (b *book) describe(grid map[*sheet][]rect, only map[*sheet]bool) spreadsheetJSON {
	out := spreadsheetJSON{
		SpreadsheetID:  b.id,
		Properties:     bookProps{Title: b.title, Locale: "en_US", AutoRecalc: "ON_CHANGE", TimeZone: "Etc/GMT"},
		SpreadsheetURL: "https://docs.google.com/spreadsheets/d/" + b.id + "/edit",
		Sheets:         []sheetJSON{},
	}
	for i, sh := range b.sheets {
		if only != nil && !only[sh] {
			continue
		}
		sj := sheetJSON{Properties: sh.props(i)}
		for _, rc := range grid[sh] {
			sj.Data = append(sj.Data, sh.gridData(rc))
		}
		out.Sheets = append(out.Sheets, sj)
	}
	return out
}

// effective returns the extended value of c's displayed result.
func (c *cell) effective() *extendedValue {
	v := &extendedValue{}
	switch c.k {
	case kindText:
		s := c.s
		v.StringValue = &s
	case kindNumber:
		n := c.n
		v.NumberValue = &n
	case kindBool:
		t := c.n != 0
		v.BoolValue = &t
	case kindError:
		v.ErrorValue = &errorValue{Type: "NAME", Message: "Unknown function or formula the emulator does not compute."}
	default:
		return nil
	}
	return v
}

func (sh *sheet) gridData(rc rect) gridData {
	g := gridData{StartRow: rc.r0, StartColumn: rc.c0}
	last := min(rc.r1, len(sh.rows)-1)
	for last >= rc.r0 && lastNonEmpty(sh.rows[last], rc.c0, rc.c1) < 0 {
		last--
	}
	for ri := rc.r0; ri <= last; ri++ {
		row := sh.rows[ri]
		var rd rowData
		for ci := rc.c0; ci <= lastNonEmpty(row, rc.c0, rc.c1); ci++ {
			c := &row[ci]
			var cd cellData
			if !c.empty() {
				cd.EffectiveValue = c.effective()
				cd.FormattedValue = c.formatted()
				if c.formula != "" {
					f := c.formula
					cd.UserEnteredValue = &extendedValue{FormulaValue: &f}
				} else {
					cd.UserEnteredValue = cd.EffectiveValue
				}
			}
			rd.Values = append(rd.Values, cd)
		}
		g.RowData = append(g.RowData, rd)
	}
	return g
}

func (s *Server) spreadsheetGet(b *book, q url.Values) ([]byte, *apiError) {
	includeGrid := q.Get("includeGridData") == "true"
	b.mu.RLock()
	defer b.mu.RUnlock()
	var grid map[*sheet][]rect
	var only map[*sheet]bool
	if rngs := q["ranges"]; len(rngs) > 0 {
		grid, only = map[*sheet][]rect{}, map[*sheet]bool{}
		for _, rng := range rngs {
			sh, r, e := b.resolve(rng)
			if e != nil {
				return nil, e
			}
			rc, e := clip(sh, r)
			if e != nil {
				return nil, e
			}
			only[sh] = true
			grid[sh] = append(grid[sh], rc)
		}
	} else if includeGrid {
		grid = map[*sheet][]rect{}
		for _, sh := range b.sheets {
			grid[sh] = []rect{{r0: 0, c0: 0, r1: sh.rowCount - 1, c1: sh.colCount - 1}}
		}
	}
	if !includeGrid {
		grid = nil
	}
	return marshal(b.describe(grid, only))
}

// Request bodies of spreadsheets.batchUpdate. Pointers tell an absent field
// from a zero, which matters for indexes.
type batchUpdateSpreadsheetRequest struct {
	Requests                     []map[string]json.RawMessage `json:"requests"`
	IncludeSpreadsheetInResponse bool                         `json:"includeSpreadsheetInResponse"`
}

type gridRangeIn struct {
	SheetID          int64 `json:"sheetId"`
	StartRowIndex    *int  `json:"startRowIndex"`
	EndRowIndex      *int  `json:"endRowIndex"`
	StartColumnIndex *int  `json:"startColumnIndex"`
	EndColumnIndex   *int  `json:"endColumnIndex"`
}

type dimensionRangeIn struct {
	SheetID    int64  `json:"sheetId"`
	Dimension  string `json:"dimension"`
	StartIndex *int   `json:"startIndex"`
	EndIndex   *int   `json:"endIndex"`
}

type sheetPropsIn struct {
	SheetID        *int64  `json:"sheetId"`
	Title          *string `json:"title"`
	Index          *int    `json:"index"`
	GridProperties *struct {
		RowCount    *int `json:"rowCount"`
		ColumnCount *int `json:"columnCount"`
	} `json:"gridProperties"`
}

type sortSpecIn struct {
	DimensionIndex int    `json:"dimensionIndex"`
	SortOrder      string `json:"sortOrder"`
}

// tx remembers the state of the sheets a spreadsheets.batchUpdate touches,
// so that a failing request undoes the ones before it. Structural
// operations never modify a row slice in place, so a shallow copy suffices.
type tx struct {
	b      *book
	sheets []*sheet
	saved  map[*sheet]sheet
}

func begin(b *book) *tx {
	return &tx{b: b, sheets: slices.Clone(b.sheets), saved: map[*sheet]sheet{}}
}

func (t *tx) touch(sh *sheet) {
	if _, ok := t.saved[sh]; !ok {
		st := *sh
		st.rows = slices.Clone(sh.rows)
		t.saved[sh] = st
	}
}

func (t *tx) rollback() {
	t.b.sheets = t.sheets
	for sh, st := range t.saved {
		*sh = st
	}
}

func (s *Server) spreadsheetBatchUpdate(b *book, req *batchUpdateSpreadsheetRequest) ([]byte, *apiError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := begin(b)
	replies := make([]json.RawMessage, 0, len(req.Requests))
	for i, r := range req.Requests {
		if len(r) != 1 {
			t.rollback()
			return nil, badRequest("Invalid requests[%d]: exactly one kind of request must be set", i)
		}
		for kind, body := range r {
			reply, err := t.apply(kind, body)
			if err != nil {
				t.rollback()
				return nil, badRequest("Invalid requests[%d].%s: %s", i, kind, err)
			}
			replies = append(replies, reply)
		}
	}
	out := struct {
		SpreadsheetID      string            `json:"spreadsheetId"`
		Replies            []json.RawMessage `json:"replies"`
		UpdatedSpreadsheet *spreadsheetJSON  `json:"updatedSpreadsheet,omitempty"`
	}{SpreadsheetID: b.id, Replies: replies}
	if req.IncludeSpreadsheetInResponse {
		d := b.describe(nil, nil)
		out.UpdatedSpreadsheet = &d
	}
	if len(req.Requests) > 0 {
		s.touch(b)
	}
	return marshal(out)
}

// apply runs one request of a batch; errors are the text after
// "Invalid requests[i].kind: ".
func (t *tx) apply(kind string, body json.RawMessage) (json.RawMessage, error) {
	empty := json.RawMessage(`{}`)
	switch kind {
	case "addSheet":
		var req struct {
			Properties sheetPropsIn `json:"properties"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		props, err := t.addSheet(req.Properties)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"addSheet": map[string]any{"properties": props}})
	case "deleteSheet":
		var req struct {
			SheetID int64 `json:"sheetId"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		_, i := t.b.sheetByID(req.SheetID)
		if i < 0 {
			return nil, fmt.Errorf("No sheet with id: %d", req.SheetID)
		}
		if len(t.b.sheets) == 1 {
			return nil, fmt.Errorf("You can't remove all the sheets in a document.")
		}
		t.b.sheets = slices.Delete(slices.Clone(t.b.sheets), i, i+1)
		return empty, nil
	case "updateSheetProperties":
		var req struct {
			Properties sheetPropsIn `json:"properties"`
			Fields     string       `json:"fields"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		return empty, t.updateSheetProperties(req.Properties, req.Fields)
	case "sortRange":
		var req struct {
			Range     gridRangeIn  `json:"range"`
			SortSpecs []sortSpecIn `json:"sortSpecs"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		return empty, t.sortRange(req.Range, req.SortSpecs)
	case "insertDimension":
		var req struct {
			Range dimensionRangeIn `json:"range"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		return empty, t.insertDimension(req.Range)
	case "deleteDimension":
		var req struct {
			Range dimensionRangeIn `json:"range"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		return empty, t.deleteDimension(req.Range)
	case "appendDimension":
		var req struct {
			SheetID   int64  `json:"sheetId"`
			Dimension string `json:"dimension"`
			Length    int    `json:"length"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		sh, _ := t.b.sheetByID(req.SheetID)
		if sh == nil {
			return nil, fmt.Errorf("No grid with id: %d", req.SheetID)
		}
		if req.Length <= 0 {
			return nil, fmt.Errorf("length must be positive")
		}
		t.touch(sh)
		switch req.Dimension {
		case "ROWS":
			sh.rowCount += req.Length
		case "COLUMNS":
			sh.colCount += req.Length
		default:
			return nil, fmt.Errorf("dimension must be ROWS or COLUMNS")
		}
		return empty, checkGridSize(sh)
	}
	return nil, fmt.Errorf("the emulator does not support %q requests", kind)
}

func checkGridSize(sh *sheet) error {
	if sh.colCount > a1.MaxColumns {
		return fmt.Errorf("This action would increase the number of columns in the sheet above the limit of %d.", a1.MaxColumns)
	}
	if int64(sh.rowCount)*int64(sh.colCount) > maxGridCells {
		return fmt.Errorf("This action would increase the number of cells in the workbook above the limit of %d cells.", maxGridCells)
	}
	return nil
}

func (t *tx) addSheet(p sheetPropsIn) (sheetProps, error) {
	b := t.b
	title := ""
	if p.Title != nil {
		title = *p.Title
	}
	if title == "" {
		for n := len(b.sheets) + 1; ; n++ {
			if title = fmt.Sprintf("Sheet%d", n); b.sheetByTitle(title) == nil {
				break
			}
		}
	}
	if b.sheetByTitle(title) != nil {
		return sheetProps{}, fmt.Errorf("A sheet with the name %q already exists. Please enter another name.", title)
	}
	sh := &sheet{title: title, rowCount: DefaultRowCount, colCount: DefaultColumnCount}
	if p.SheetID != nil {
		if *p.SheetID < 0 {
			return sheetProps{}, fmt.Errorf("sheetId must not be negative")
		}
		if other, _ := b.sheetByID(*p.SheetID); other != nil {
			return sheetProps{}, fmt.Errorf("Sheet with id %d already exists.", *p.SheetID)
		}
		sh.id = *p.SheetID
	} else {
		sh.id = b.newSheetID(title)
	}
	if g := p.GridProperties; g != nil {
		if g.RowCount != nil {
			sh.rowCount = *g.RowCount
		}
		if g.ColumnCount != nil {
			sh.colCount = *g.ColumnCount
		}
	}
	if sh.rowCount < 1 || sh.colCount < 1 {
		return sheetProps{}, fmt.Errorf("a sheet needs at least one row and one column")
	}
	if err := checkGridSize(sh); err != nil {
		return sheetProps{}, err
	}
	index := len(b.sheets)
	if p.Index != nil {
		index = min(max(*p.Index, 0), len(b.sheets))
	}
	b.sheets = slices.Insert(slices.Clone(b.sheets), index, sh)
	return sh.props(index), nil
}

func (t *tx) updateSheetProperties(p sheetPropsIn, fields string) error {
	if p.SheetID == nil {
		p.SheetID = new(int64)
	}
	sh, idx := t.b.sheetByID(*p.SheetID)
	if sh == nil {
		return fmt.Errorf("No grid with id: %d", *p.SheetID)
	}
	if strings.TrimSpace(fields) == "" {
		return fmt.Errorf("At least one field must be updated, but 'fields' is empty.")
	}
	t.touch(sh)
	for _, f := range strings.Split(fields, ",") {
		switch f = strings.TrimSpace(f); f {
		case "sheetId":
		case "title":
			if p.Title == nil || *p.Title == "" {
				return fmt.Errorf("a sheet title must not be empty")
			}
			if other := t.b.sheetByTitle(*p.Title); other != nil && other != sh {
				return fmt.Errorf("A sheet with the name %q already exists. Please enter another name.", *p.Title)
			}
			sh.title = *p.Title
		case "index":
			to := 0
			if p.Index != nil {
				to = min(max(*p.Index, 0), len(t.b.sheets)-1)
			}
			sheets := slices.Delete(slices.Clone(t.b.sheets), idx, idx+1)
			t.b.sheets = slices.Insert(sheets, to, sh)
		case "gridProperties", "gridProperties.rowCount", "gridProperties.columnCount":
			g := p.GridProperties
			if g == nil {
				return fmt.Errorf("gridProperties missing")
			}
			if g.RowCount != nil && f != "gridProperties.columnCount" {
				if *g.RowCount < 1 {
					return fmt.Errorf("a sheet needs at least one row")
				}
				sh.rowCount = *g.RowCount
				if len(sh.rows) > sh.rowCount {
					sh.rows = slices.Clone(sh.rows[:sh.rowCount])
				}
			}
			if g.ColumnCount != nil && f != "gridProperties.rowCount" {
				if *g.ColumnCount < 1 {
					return fmt.Errorf("a sheet needs at least one column")
				}
				sh.colCount = *g.ColumnCount
				sh.cutColumns(sh.colCount)
			}
			if err := checkGridSize(sh); err != nil {
				return err
			}
		default:
			return fmt.Errorf("the emulator cannot update the field %q", f)
		}
	}
	sh.trim()
	return nil
}

// cutColumns drops cells at or right of column n, copying the rows it
// changes.
func (sh *sheet) cutColumns(n int) {
	for i, r := range sh.rows {
		if len(r) > n {
			sh.rows[i] = slices.Clone(r[:n])
		}
	}
}

// dimension resolves a DimensionRange to its sheet and [start, end), with an
// absent end meaning the end of the grid.
func (t *tx) dimension(d dimensionRangeIn) (*sheet, bool, int, int, error) {
	sh, _ := t.b.sheetByID(d.SheetID)
	if sh == nil {
		return nil, false, 0, 0, fmt.Errorf("No grid with id: %d", d.SheetID)
	}
	rows := true
	size := sh.rowCount
	switch d.Dimension {
	case "ROWS":
	case "COLUMNS":
		rows, size = false, sh.colCount
	default:
		return nil, false, 0, 0, fmt.Errorf("range.dimension must be ROWS or COLUMNS")
	}
	start, end := 0, size
	if d.StartIndex != nil {
		start = *d.StartIndex
	}
	if d.EndIndex != nil {
		end = *d.EndIndex
	}
	if start < 0 || end <= start {
		return nil, false, 0, 0, fmt.Errorf("range.startIndex (%d) must be less than range.endIndex (%d)", start, end)
	}
	return sh, rows, start, end, nil
}

func (t *tx) insertDimension(d dimensionRangeIn) error {
	sh, rows, start, end, err := t.dimension(d)
	if err != nil {
		return err
	}
	n := end - start
	t.touch(sh)
	if rows {
		if start > sh.rowCount {
			return fmt.Errorf("range.startIndex (%d) must be at most the number of rows (%d)", start, sh.rowCount)
		}
		sh.insertRows(start, n)
		return checkGridSize(sh)
	}
	if start > sh.colCount {
		return fmt.Errorf("range.startIndex (%d) must be at most the number of columns (%d)", start, sh.colCount)
	}
	sh.colCount += n
	for i, r := range sh.rows {
		if len(r) > start {
			nr := make([]cell, 0, len(r)+n)
			nr = append(nr, r[:start]...)
			nr = append(nr, make([]cell, n)...)
			sh.rows[i] = append(nr, r[start:]...)
		}
	}
	return checkGridSize(sh)
}

func (t *tx) deleteDimension(d dimensionRangeIn) error {
	sh, rows, start, end, err := t.dimension(d)
	if err != nil {
		return err
	}
	t.touch(sh)
	if rows {
		end = min(end, sh.rowCount)
		if start >= end {
			return fmt.Errorf("range.startIndex (%d) is beyond the last row (%d)", start, sh.rowCount)
		}
		if start == 0 && end == sh.rowCount {
			return fmt.Errorf("You can't delete all the rows in the sheet.")
		}
		sh.rowCount -= end - start
		if start < len(sh.rows) {
			kept := make([][]cell, 0, len(sh.rows))
			kept = append(kept, sh.rows[:start]...)
			if end < len(sh.rows) {
				kept = append(kept, sh.rows[end:]...)
			}
			sh.rows = kept
		}
		sh.trim()
		return nil
	}
	end = min(end, sh.colCount)
	if start >= end {
		return fmt.Errorf("range.startIndex (%d) is beyond the last column (%d)", start, sh.colCount)
	}
	if start == 0 && end == sh.colCount {
		return fmt.Errorf("You can't delete all the columns in the sheet.")
	}
	sh.colCount -= end - start
	for i, r := range sh.rows {
		if len(r) > start {
			nr := make([]cell, 0, len(r))
			nr = append(nr, r[:start]...)
			if end < len(r) {
				nr = append(nr, r[end:]...)
			}
			sh.rows[i] = nr
		}
	}
	sh.trim()
	return nil
}

// sortRange sorts the rows of a block by the given columns. Like Sheets,
// blank cells go last in either order; otherwise numbers come before text
// (compared case-insensitively), then booleans, then errors. The sort is
// stable. Formulas move with their rows without adjusting references.
func (t *tx) sortRange(g gridRangeIn, specs []sortSpecIn) error {
	sh, _ := t.b.sheetByID(g.SheetID)
	if sh == nil {
		return fmt.Errorf("No grid with id: %d", g.SheetID)
	}
	r0, r1, c0, c1 := 0, sh.rowCount, 0, sh.colCount // half-open
	if g.StartRowIndex != nil {
		r0 = *g.StartRowIndex
	}
	if g.EndRowIndex != nil {
		r1 = *g.EndRowIndex
	}
	if g.StartColumnIndex != nil {
		c0 = *g.StartColumnIndex
	}
	if g.EndColumnIndex != nil {
		c1 = *g.EndColumnIndex
	}
	if r0 < 0 || c0 < 0 || r1 > sh.rowCount || c1 > sh.colCount || r0 >= r1 || c0 >= c1 {
		return fmt.Errorf("range is outside the grid of %d rows × %d columns", sh.rowCount, sh.colCount)
	}
	if len(specs) == 0 {
		specs = []sortSpecIn{{DimensionIndex: c0, SortOrder: "ASCENDING"}}
	}
	for _, sp := range specs {
		if sp.DimensionIndex < c0 || sp.DimensionIndex >= c1 {
			return fmt.Errorf("sortSpecs dimensionIndex %d is outside the range", sp.DimensionIndex)
		}
		switch sp.SortOrder {
		case "", "ASCENDING", "DESCENDING", "SORT_ORDER_UNSPECIFIED":
		default:
			return fmt.Errorf("unknown sortOrder %q", sp.SortOrder)
		}
	}
	t.touch(sh)
	r1 = min(r1, len(sh.rows)) // rows past the data are blank and stay last
	if r0 >= r1 {
		return nil
	}
	whole := c0 == 0 && c1 >= sh.dataWidth()
	segs := make([][]cell, r1-r0)
	for i := range segs {
		row := sh.rows[r0+i]
		if whole {
			segs[i] = row
		} else if c0 < len(row) {
			segs[i] = slices.Clone(row[c0:min(c1, len(row))])
		}
	}
	key := func(seg []cell, col int) *cell {
		if col-c0 < len(seg) {
			return &seg[col-c0]
		}
		return nil
	}
	sort.SliceStable(segs, func(i, j int) bool {
		for _, sp := range specs {
			a, b := key(segs[i], sp.DimensionIndex), key(segs[j], sp.DimensionIndex)
			aBlank, bBlank := a == nil || a.empty(), b == nil || b.empty()
			switch {
			case aBlank && bBlank:
				continue
			case aBlank:
				return false
			case bBlank:
				return true
			}
			c := compareCells(a, b)
			if sp.SortOrder == "DESCENDING" {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	rows := slices.Clone(sh.rows)
	for i, seg := range segs {
		if whole {
			rows[r0+i] = seg
			continue
		}
		old := rows[r0+i]
		nr := make([]cell, max(len(old), c0+len(seg)))
		copy(nr, old)
		if c0 < len(nr) {
			clear(nr[c0:min(c1, len(nr))])
			copy(nr[c0:], seg)
		}
		rows[r0+i] = nr
	}
	sh.rows = rows
	sh.trim()
	return nil
}

func sortClass(c *cell) int {
	switch c.k {
	case kindNumber:
		return 0
	case kindText:
		return 1
	case kindBool:
		return 2
	}
	return 3
}

func compareCells(a, b *cell) int {
	ca, cb := sortClass(a), sortClass(b)
	if ca != cb {
		return ca - cb
	}
	switch ca {
	case 0, 2:
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	}
	return strings.Compare(strings.ToLower(a.s), strings.ToLower(b.s))
}
