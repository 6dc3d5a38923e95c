package sheets

import (
	"encoding/json"
	"net/url"
	"strings"

	"marketingbot/sim/emulator/sheets/internal/a1"
)

// Request bodies of the values API (subsets of the Google types that the
// emulator reads).
type valueRange struct {
	Range          string  `json:"range"`
	MajorDimension string  `json:"majorDimension"`
	Values         [][]any `json:"values"`
}

type batchUpdateValuesRequest struct {
	ValueInputOption          string       `json:"valueInputOption"`
	Data                      []valueRange `json:"data"`
	IncludeValuesInResponse   bool         `json:"includeValuesInResponse"`
	ResponseValueRenderOption string       `json:"responseValueRenderOption"`
}

type batchClearValuesRequest struct {
	Ranges []string `json:"ranges"`
}

type updateValuesResponse struct {
	SpreadsheetID  string          `json:"spreadsheetId"`
	UpdatedRange   string          `json:"updatedRange,omitempty"`
	UpdatedRows    int             `json:"updatedRows,omitempty"`
	UpdatedColumns int             `json:"updatedColumns,omitempty"`
	UpdatedCells   int             `json:"updatedCells,omitempty"`
	UpdatedData    json.RawMessage `json:"updatedData,omitempty"`
}

// rect is a block of a sheet: 0-based rows and columns, both ends inclusive.
type rect struct{ r0, c0, r1, c1 int }

// area returns the block r covers on sh, open ends running to the grid's end.
func area(sh *sheet, r a1.Range) rect {
	rc := rect{r0: r.StartRow - 1, c0: r.StartCol, r1: r.EndRow - 1, c1: r.EndCol}
	if r.EndRow == a1.Unbounded {
		rc.r1 = sh.rowCount - 1
	}
	if r.EndCol == a1.Unbounded {
		rc.c1 = sh.colCount - 1
	}
	return rc
}

// clip intersects r with the grid of sh. A range that starts outside the grid
// is an error, as in Google.
func clip(sh *sheet, r a1.Range) (rect, *apiError) {
	rc := area(sh, r)
	if rc.r0 >= sh.rowCount || rc.c0 >= sh.colCount {
		return rect{}, errExceedsGrid(sh, rc)
	}
	rc.r1 = min(rc.r1, sh.rowCount-1)
	rc.c1 = min(rc.c1, sh.colCount-1)
	return rc, nil
}

func errExceedsGrid(sh *sheet, rc rect) *apiError {
	return badRequest("Range (%s) exceeds grid limits. Max rows: %d, max columns: %d",
		gridRef(sh, rc), sh.rowCount, sh.colCount)
}

// rangeOf renders a block in canonical A1 notation, as response fields are.
func rangeOf(sh *sheet, rc rect) string {
	return a1.Range{Sheet: sh.title, StartCol: rc.c0, StartRow: rc.r0 + 1, EndCol: rc.c1, EndRow: rc.r1 + 1}.String()
}

// gridRef renders a block the way Google's error messages do: the sheet
// title always quoted.
func gridRef(sh *sheet, rc rect) string {
	area := a1.Range{StartCol: rc.c0, StartRow: rc.r0 + 1, EndCol: rc.c1, EndRow: rc.r1 + 1}.String()
	return "'" + strings.ReplaceAll(sh.title, "'", "''") + "'!" + area
}

// resolve parses rng and finds its sheet; the returned range names the sheet
// by its real title.
func (b *book) resolve(rng string) (*sheet, a1.Range, *apiError) {
	r, err := a1.Parse(rng)
	if err != nil || len(b.sheets) == 0 {
		return nil, a1.Range{}, errUnparsableRange(rng)
	}
	sh := b.sheets[0]
	if r.Sheet != "" {
		if sh = b.sheetByTitle(r.Sheet); sh == nil {
			return nil, a1.Range{}, errUnparsableRange(rng)
		}
	}
	r.Sheet = sh.title
	return sh, r, nil
}

func parseMajor(s, field string) (bool, *apiError) {
	switch s {
	case "", "ROWS", "DIMENSION_UNSPECIFIED":
		return false, nil
	case "COLUMNS":
		return true, nil
	}
	return false, badRequest("Invalid value at '%s' (type.googleapis.com/google.apps.sheets.v4.Dimension), %q", field, s)
}

func parseRenderParam(s, field string) (render, *apiError) {
	r, ok := parseRender(s)
	if !ok {
		return 0, badRequest("Invalid value at '%s' (type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), %q", field, s)
	}
	return r, nil
}

// lastNonEmpty returns the last non-empty column of row within [c0, c1], or -1.
func lastNonEmpty(row []cell, c0, c1 int) int {
	for c := min(c1, len(row)-1); c >= c0; c-- {
		if !row[c].empty() {
			return c
		}
	}
	return -1
}

// appendValueRange encodes a ValueRange of the block rc of sh, trimming
// trailing empty cells and rows (or columns) as Google does; an empty block
// has no "values" key.
func appendValueRange(b []byte, rangeStr string, byCols bool, sh *sheet, rc rect, r render) []byte {
	b = append(b, `{"range":`...)
	b = appendString(b, rangeStr)
	if byCols {
		b = append(b, `,"majorDimension":"COLUMNS"`...)
	} else {
		b = append(b, `,"majorDimension":"ROWS"`...)
	}
	lastRow := min(rc.r1, len(sh.rows)-1)
	if !byCols {
		for lastRow >= rc.r0 && lastNonEmpty(sh.rows[lastRow], rc.c0, rc.c1) < 0 {
			lastRow--
		}
		if lastRow < rc.r0 {
			return append(b, '}')
		}
		b = append(b, `,"values":[`...)
		for ri := rc.r0; ri <= lastRow; ri++ {
			if ri > rc.r0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			row := sh.rows[ri]
			last := lastNonEmpty(row, rc.c0, rc.c1)
			for ci := rc.c0; ci <= last; ci++ {
				if ci > rc.c0 {
					b = append(b, ',')
				}
				b = appendCell(b, &row[ci], r)
			}
			b = append(b, ']')
		}
		return append(b, "]}"...)
	}
	width := min(rc.c1, sh.colCount-1) - rc.c0 + 1
	lastOfCol := make([]int, max(width, 0))
	for i := range lastOfCol {
		lastOfCol[i] = -1
	}
	lastCol := -1
	for ri := rc.r0; ri <= lastRow; ri++ {
		row := sh.rows[ri]
		for ci := rc.c0; ci <= min(rc.c1, len(row)-1); ci++ {
			if !row[ci].empty() {
				lastOfCol[ci-rc.c0] = ri
				lastCol = max(lastCol, ci-rc.c0)
			}
		}
	}
	if lastCol < 0 {
		return append(b, '}')
	}
	b = append(b, `,"values":[`...)
	for i := 0; i <= lastCol; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for ri := rc.r0; ri <= lastOfCol[i]; ri++ {
			if ri > rc.r0 {
				b = append(b, ',')
			}
			b = appendCell(b, sh.at(ri, rc.c0+i), r)
		}
		b = append(b, ']')
	}
	return append(b, "]}"...)
}

func (s *Server) valuesGet(b *book, rng string, q url.Values) ([]byte, *apiError) {
	byCols, e := parseMajor(q.Get("majorDimension"), "major_dimension")
	if e != nil {
		return nil, e
	}
	rnd, e := parseRenderParam(q.Get("valueRenderOption"), "value_render_option")
	if e != nil {
		return nil, e
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	sh, r, e := b.resolve(rng)
	if e != nil {
		return nil, e
	}
	rc, e := clip(sh, r)
	if e != nil {
		return nil, e
	}
	return appendValueRange(nil, rangeOf(sh, rc), byCols, sh, rc, rnd), nil
}

func (s *Server) valuesBatchGet(b *book, q url.Values) ([]byte, *apiError) {
	byCols, e := parseMajor(q.Get("majorDimension"), "major_dimension")
	if e != nil {
		return nil, e
	}
	rnd, e := parseRenderParam(q.Get("valueRenderOption"), "value_render_option")
	if e != nil {
		return nil, e
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	type part struct {
		sh *sheet
		rc rect
	}
	parts := make([]part, 0, len(q["ranges"]))
	for _, rng := range q["ranges"] {
		sh, r, e := b.resolve(rng)
		if e != nil {
			return nil, e
		}
		rc, e := clip(sh, r)
		if e != nil {
			return nil, e
		}
		parts = append(parts, part{sh, rc})
	}
	out := append([]byte(`{"spreadsheetId":`), appendString(nil, b.id)...)
	if len(parts) > 0 {
		out = append(out, `,"valueRanges":[`...)
		for i, p := range parts {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendValueRange(out, rangeOf(p.sh, p.rc), byCols, p.sh, p.rc, rnd)
		}
		out = append(out, ']')
	}
	return append(out, '}'), nil
}

// kindSkip marks a JSON null in a write plan: the cell is left as it is.
const kindSkip kind = 255

// writePlan is a validated values write, applied only once every part of the
// request has been validated (requests are atomic).
type writePlan struct {
	sh       *sheet
	row, col int      // top-left, 0-based
	cells    [][]cell // row-major; kindSkip = leave untouched
	width    int      // longest row
	byCols   bool     // the request's majorDimension, echoed in updatedData
}

func (p *writePlan) rect() rect {
	return rect{r0: p.row, c0: p.col, r1: p.row + len(p.cells) - 1, c1: p.col + max(p.width, 1) - 1}
}

// buildPlan converts the request values into cells, rejecting what Google
// rejects; it does not look at the sheet yet.
func buildPlan(vr *valueRange, mode inputMode, field string) (*writePlan, *apiError) {
	byCols, e := parseMajor(vr.MajorDimension, field+".major_dimension")
	if e != nil {
		return nil, e
	}
	p := &writePlan{byCols: byCols}
	conv := func(i, j int, v any) (cell, *apiError) {
		switch v := v.(type) {
		case nil:
			return cell{k: kindSkip}, nil
		case string:
			if tooLong(v) {
				return cell{}, badRequest("Your input contains more than the maximum of %d characters in a single cell.", MaxCellChars)
			}
		case float64, bool:
		default:
			return cell{}, badRequest("Invalid %s.values[%d][%d]: a cell value must be a string, number, boolean or null", field, i, j)
		}
		c, _ := cellFromInput(v, mode)
		return c, nil
	}
	if !byCols {
		p.cells = make([][]cell, len(vr.Values))
		for i, row := range vr.Values {
			p.cells[i] = make([]cell, len(row))
			for j, v := range row {
				c, e := conv(i, j, v)
				if e != nil {
					return nil, e
				}
				p.cells[i][j] = c
			}
			p.width = max(p.width, len(row))
		}
		return p, nil
	}
	height := 0
	for _, col := range vr.Values {
		height = max(height, len(col))
	}
	p.width = len(vr.Values)
	p.cells = make([][]cell, height)
	for i := range p.cells {
		p.cells[i] = make([]cell, p.width)
		for j := range p.cells[i] {
			p.cells[i][j].k = kindSkip
		}
	}
	for j, col := range vr.Values {
		for i, v := range col {
			c, e := conv(j, i, v)
			if e != nil {
				return nil, e
			}
			p.cells[i][j] = c
		}
	}
	return p, nil
}

// place anchors the plan at the start of the requested range and checks that
// it stays inside that range (a single cell only anchors) and the grid.
func (p *writePlan) place(sh *sheet, r a1.Range) *apiError {
	p.sh, p.row, p.col = sh, r.StartRow-1, r.StartCol
	if len(p.cells) == 0 {
		return nil
	}
	single := r.EndRow == r.StartRow && r.EndCol == r.StartCol
	rc := p.rect()
	if !single {
		if r.EndRow != a1.Unbounded && rc.r1 > r.EndRow-1 {
			return badRequest("Requested writing within range [%s], but tried writing to row [%d]", r, r.EndRow+1)
		}
		if r.EndCol != a1.Unbounded && rc.c1 > r.EndCol {
			return badRequest("Requested writing within range [%s], but tried writing to column [%s]", r, a1.ColumnName(r.EndCol+1))
		}
	}
	if rc.r1 >= sh.rowCount || rc.c1 >= sh.colCount {
		return errExceedsGrid(sh, rc)
	}
	return nil
}

// apply writes the plan and returns its share of the response.
func (p *writePlan) apply(spreadsheetID string) updateValuesResponse {
	resp := updateValuesResponse{SpreadsheetID: spreadsheetID}
	if len(p.cells) == 0 {
		return resp
	}
	resp.UpdatedRange = rangeOf(p.sh, p.rect())
	cols := make([]bool, p.width)
	for i, row := range p.cells {
		if len(row) > 0 {
			p.sh.reserve(p.row+i, p.col+len(row))
		}
		wrote := false
		for j := range row {
			if row[j].k == kindSkip {
				continue
			}
			p.sh.set(p.row+i, p.col+j, row[j])
			resp.UpdatedCells++
			cols[j], wrote = true, true
		}
		if wrote {
			resp.UpdatedRows++
		}
	}
	for _, c := range cols {
		if c {
			resp.UpdatedColumns++
		}
	}
	p.sh.trimRows(p.row, p.row+len(p.cells))
	return resp
}

// withData adds updatedData (the written block read back) to resp.
func (p *writePlan) withData(resp *updateValuesResponse, r render) {
	if len(p.cells) == 0 {
		return
	}
	rc := p.rect()
	resp.UpdatedData = appendValueRange(nil, rangeOf(p.sh, rc), p.byCols, p.sh, rc, r)
}

func parseInputOption(s string) (inputMode, *apiError) {
	switch s {
	case "RAW":
		return inputRaw, nil
	case "USER_ENTERED":
		return inputUserEntered, nil
	case "":
		return 0, badRequest("'valueInputOption' is required but not specified")
	case "INPUT_VALUE_OPTION_UNSPECIFIED":
		return 0, badRequest("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
	}
	return 0, badRequest("Invalid value at 'value_input_option' (type.googleapis.com/google.apps.sheets.v4.ValueInputOption), %q", s)
}

// responseOptions reads includeValuesInResponse and responseValueRenderOption.
func responseOptions(q url.Values) (bool, render, *apiError) {
	include := q.Get("includeValuesInResponse") == "true"
	r, e := parseRenderParam(q.Get("responseValueRenderOption"), "response_value_render_option")
	return include, r, e
}

// checkBodyRange rejects a body range that names another range than the URL.
func (b *book) checkBodyRange(urlRange string, sh *sheet, r a1.Range, bodyRange string) *apiError {
	if bodyRange == "" {
		return nil
	}
	bsh, br, e := b.resolve(bodyRange)
	if e != nil {
		return e
	}
	if bsh != sh || br != r {
		return badRequest("Requested writing within range [%s], but the request body's range [%s] is different", urlRange, bodyRange)
	}
	return nil
}

func (s *Server) valuesUpdate(b *book, rng string, q url.Values, vr *valueRange) ([]byte, *apiError) {
	mode, e := parseInputOption(q.Get("valueInputOption"))
	if e != nil {
		return nil, e
	}
	include, rnd, e := responseOptions(q)
	if e != nil {
		return nil, e
	}
	p, e := buildPlan(vr, mode, "data")
	if e != nil {
		return nil, e
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	sh, r, e := b.resolve(rng)
	if e != nil {
		return nil, e
	}
	if e := b.checkBodyRange(rng, sh, r, vr.Range); e != nil {
		return nil, e
	}
	if e := p.place(sh, r); e != nil {
		return nil, e
	}
	if len(p.cells) == 0 {
		// Nothing to write: Google still names the range it looked at.
		rc, e := clip(sh, r)
		if e != nil {
			return nil, e
		}
		return marshal(updateValuesResponse{SpreadsheetID: b.id, UpdatedRange: rangeOf(sh, rc)})
	}
	resp := p.apply(b.id)
	if include {
		p.withData(&resp, rnd)
	}
	s.touch(b)
	return marshal(resp)
}

// touch records a change of b; the caller holds b.mu for writing.
func (s *Server) touch(b *book) {
	b.version++
	s.changed(b)
}

func marshal(v any) ([]byte, *apiError) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, newAPIError(500, "encode response: %v", err)
	}
	return body, nil
}

func (s *Server) valuesBatchUpdate(b *book, req *batchUpdateValuesRequest) ([]byte, *apiError) {
	mode, e := parseInputOption(req.ValueInputOption)
	if e != nil {
		if req.ValueInputOption == "" {
			e = badRequest("Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
		}
		return nil, e
	}
	rnd, e := parseRenderParam(req.ResponseValueRenderOption, "response_value_render_option")
	if e != nil {
		return nil, e
	}
	plans := make([]*writePlan, len(req.Data))
	for i := range req.Data {
		if plans[i], e = buildPlan(&req.Data[i], mode, "data"); e != nil {
			return nil, e
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, p := range plans {
		sh, r, e := b.resolve(req.Data[i].Range)
		if e != nil {
			return nil, e
		}
		if e := p.place(sh, r); e != nil {
			return nil, e
		}
	}
	type pos struct {
		sh  *sheet
		idx int
	}
	rows, cols, sheets := map[pos]bool{}, map[pos]bool{}, map[*sheet]bool{}
	out := struct {
		SpreadsheetID       string                 `json:"spreadsheetId"`
		TotalUpdatedRows    int                    `json:"totalUpdatedRows,omitempty"`
		TotalUpdatedColumns int                    `json:"totalUpdatedColumns,omitempty"`
		TotalUpdatedCells   int                    `json:"totalUpdatedCells,omitempty"`
		TotalUpdatedSheets  int                    `json:"totalUpdatedSheets,omitempty"`
		Responses           []updateValuesResponse `json:"responses,omitempty"`
	}{SpreadsheetID: b.id}
	for _, p := range plans {
		for i, row := range p.cells {
			for j := range row {
				if row[j].k != kindSkip {
					rows[pos{p.sh, p.row + i}] = true
					cols[pos{p.sh, p.col + j}] = true
					sheets[p.sh] = true
				}
			}
		}
		resp := p.apply(b.id)
		out.TotalUpdatedCells += resp.UpdatedCells
		out.Responses = append(out.Responses, resp)
	}
	if req.IncludeValuesInResponse {
		// Read back after all writes, so overlapping ranges show the result.
		for i, p := range plans {
			p.withData(&out.Responses[i], rnd)
		}
	}
	out.TotalUpdatedRows, out.TotalUpdatedColumns, out.TotalUpdatedSheets = len(rows), len(cols), len(sheets)
	if len(plans) > 0 {
		s.touch(b)
	}
	return marshal(out)
}

func (s *Server) valuesAppend(b *book, rng string, q url.Values, vr *valueRange) ([]byte, *apiError) {
	mode, e := parseInputOption(q.Get("valueInputOption"))
	if e != nil {
		return nil, e
	}
	include, rnd, e := responseOptions(q)
	if e != nil {
		return nil, e
	}
	insert := false
	switch opt := q.Get("insertDataOption"); opt {
	case "", "OVERWRITE":
	case "INSERT_ROWS":
		insert = true
	default:
		return nil, badRequest("Invalid value at 'insert_data_option' (type.googleapis.com/google.apps.sheets.v4.InsertDataOption), %q", opt)
	}
	p, e := buildPlan(vr, mode, "data")
	if e != nil {
		return nil, e
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	sh, r, e := b.resolve(rng)
	if e != nil {
		return nil, e
	}
	if e := b.checkBodyRange(rng, sh, r, vr.Range); e != nil {
		return nil, e
	}
	search := area(sh, r)
	table, found := findTable(sh, search)
	p.sh, p.row, p.col = sh, search.r0, search.c0
	var out struct {
		SpreadsheetID string               `json:"spreadsheetId"`
		TableRange    string               `json:"tableRange,omitempty"`
		Updates       updateValuesResponse `json:"updates"`
	}
	out.SpreadsheetID = b.id
	if found {
		out.TableRange = rangeOf(sh, table)
		p.row, p.col = table.r1+1, table.c0
	}
	if len(p.cells) == 0 {
		out.Updates = updateValuesResponse{SpreadsheetID: b.id}
		return marshal(out)
	}
	rc := p.rect()
	if rc.c1 >= a1.MaxColumns || rc.r1 >= a1.MaxRows {
		return nil, errExceedsGrid(sh, rc)
	}
	if insert {
		sh.insertRows(min(p.row, sh.rowCount), len(p.cells))
	}
	// Appending past the end of the sheet adds rows and columns in both
	// modes, as Google does.
	sh.rowCount = max(sh.rowCount, rc.r1+1)
	sh.colCount = max(sh.colCount, rc.c1+1)
	out.Updates = p.apply(b.id)
	if include {
		p.withData(&out.Updates, rnd)
	}
	s.touch(b)
	return marshal(out)
}

// findTable finds the table values.append extends: the first non-empty cell
// inside the searched block (row by row), grown to the region of cells
// connected to it, diagonals included, like a spreadsheet program's "current
// region". The region may reach beyond the searched block, which is why
// appending to "Sheet1!A1" lands below the whole table.
func findTable(sh *sheet, search rect) (rect, bool) {
	for ri := search.r0; ri <= min(search.r1, len(sh.rows)-1); ri++ {
		row := sh.rows[ri]
		for ci := search.c0; ci <= min(search.c1, len(row)-1); ci++ {
			if !row[ci].empty() {
				return sh.region(ri, ci), true
			}
		}
	}
	return rect{}, false
}

func (sh *sheet) rowHasData(ri, c0, c1 int) bool {
	if ri < 0 || ri >= len(sh.rows) {
		return false
	}
	return lastNonEmpty(sh.rows[ri], max(c0, 0), c1) >= 0
}

func (sh *sheet) colHasData(ci, r0, r1 int) bool {
	if ci < 0 {
		return false
	}
	for ri := max(r0, 0); ri <= min(r1, len(sh.rows)-1); ri++ {
		if c := sh.at(ri, ci); c != nil && !c.empty() {
			return true
		}
	}
	return false
}

func (sh *sheet) region(ri, ci int) rect {
	t := rect{r0: ri, c0: ci, r1: ri, c1: ci}
	width := sh.dataWidth()
	for {
		changed := false
		for sh.rowHasData(t.r1+1, t.c0-1, t.c1+1) {
			t.r1++
			changed = true
		}
		for sh.rowHasData(t.r0-1, t.c0-1, t.c1+1) {
			t.r0--
			changed = true
		}
		if sh.colHasData(t.c0-1, t.r0-1, t.r1+1) {
			t.c0--
			changed = true
		}
		if t.c1+1 < width && sh.colHasData(t.c1+1, t.r0-1, t.r1+1) {
			t.c1++
			changed = true
		}
		if !changed {
			return t
		}
	}
}

// insertRows inserts n empty rows before the 0-based row at and grows the
// grid. It replaces sh.rows rather than shifting in place (see sheet).
func (sh *sheet) insertRows(at, n int) {
	sh.rowCount += n
	if at >= len(sh.rows) {
		return
	}
	rows := make([][]cell, 0, len(sh.rows)+n)
	rows = append(rows, sh.rows[:at]...)
	rows = append(rows, make([][]cell, n)...)
	sh.rows = append(rows, sh.rows[at:]...)
}

func (s *Server) valuesClear(b *book, rng string) ([]byte, *apiError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sh, r, e := b.resolve(rng)
	if e != nil {
		return nil, e
	}
	rc, e := clip(sh, r)
	if e != nil {
		return nil, e
	}
	sh.clearRect(rc)
	s.touch(b)
	return marshal(struct {
		SpreadsheetID string `json:"spreadsheetId"`
		ClearedRange  string `json:"clearedRange"`
	}{b.id, rangeOf(sh, rc)})
}

func (s *Server) valuesBatchClear(b *book, req *batchClearValuesRequest) ([]byte, *apiError) {
	b.mu.Lock()
	defer b.mu.Unlock()
	type part struct {
		sh *sheet
		rc rect
	}
	parts := make([]part, 0, len(req.Ranges))
	for _, rng := range req.Ranges {
		sh, r, e := b.resolve(rng)
		if e != nil {
			return nil, e
		}
		rc, e := clip(sh, r)
		if e != nil {
			return nil, e
		}
		parts = append(parts, part{sh, rc})
	}
	out := struct {
		SpreadsheetID string   `json:"spreadsheetId"`
		ClearedRanges []string `json:"clearedRanges,omitempty"`
	}{SpreadsheetID: b.id}
	for _, p := range parts {
		p.sh.clearRect(p.rc)
		out.ClearedRanges = append(out.ClearedRanges, rangeOf(p.sh, p.rc))
	}
	if len(parts) > 0 {
		s.touch(b)
	}
	return marshal(out)
}

func (sh *sheet) clearRect(rc rect) {
	for ri := rc.r0; ri <= min(rc.r1, len(sh.rows)-1); ri++ {
		row := sh.rows[ri]
		if rc.c0 < len(row) {
			clear(row[rc.c0:min(rc.c1+1, len(row))])
		}
	}
	sh.trimRows(rc.r0, rc.r1+1)
}
