package sheets

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"marketingbot/sim/emulator/sheets/internal/a1"
)

// Spreadsheet is the whole content of a spreadsheet as the control API and
// the Go helpers exchange it (GET/PUT /_emulator/spreadsheets/{id}, Load,
// Snapshot).
type Spreadsheet struct {
	SpreadsheetID string  `json:"spreadsheet_id"`
	Title         string  `json:"title"`
	Sheets        []Sheet `json:"sheets"`
}

// Sheet is one tab of a Spreadsheet.
//
// Rows hold cell values as strings, numbers (float64; any Go integer or
// float type is accepted by Load) and booleans; "" or nil is an empty cell.
// Strings are stored as text even when they start with "=": formulas are
// given in Formulas, keyed by cell ("C3": "=SUM(A1:A2)"), and the value at
// that position in Rows is the formula's displayed result (empty means
// FormulaPlaceholder). Numbers carrying a date format appear as the text they
// are displayed as. Snapshots trim trailing empty cells and rows.
type Sheet struct {
	Title       string            `json:"title"`
	SheetID     *int64            `json:"sheet_id,omitempty"` // nil on input: derived from the title
	RowCount    int               `json:"row_count"`
	ColumnCount int               `json:"column_count"`
	Rows        [][]any           `json:"rows"`
	Formulas    map[string]string `json:"formulas,omitempty"`
}

// snapshot copies b into a Spreadsheet; the caller holds b.mu.
func (b *book) snapshot() Spreadsheet {
	out := Spreadsheet{SpreadsheetID: b.id, Title: b.title, Sheets: make([]Sheet, 0, len(b.sheets))}
	for _, sh := range b.sheets {
		id := sh.id
		s := Sheet{Title: sh.title, SheetID: &id, RowCount: sh.rowCount, ColumnCount: sh.colCount}
		s.Rows = make([][]any, 0, len(sh.rows))
		for ri, row := range sh.rows {
			n := len(row)
			for n > 0 && row[n-1].empty() {
				n--
			}
			vals := make([]any, n)
			for ci := range n {
				c := &row[ci]
				vals[ci] = c.plain()
				if c.formula != "" {
					if s.Formulas == nil {
						s.Formulas = map[string]string{}
					}
					s.Formulas[a1.ColumnName(ci)+fmt.Sprint(ri+1)] = c.formula
				}
			}
			s.Rows = append(s.Rows, vals)
		}
		for len(s.Rows) > 0 && len(s.Rows[len(s.Rows)-1]) == 0 {
			s.Rows = s.Rows[:len(s.Rows)-1]
		}
		out.Sheets = append(out.Sheets, s)
	}
	return out
}

// plain is the value a snapshot shows for c.
func (c *cell) plain() any {
	switch c.k {
	case kindText, kindError:
		return c.s
	case kindNumber:
		if c.s != "" {
			return c.s
		}
		return c.n
	case kindBool:
		return c.n != 0
	}
	return ""
}

// bookFromSpreadsheet validates data and builds a book from it.
func bookFromSpreadsheet(id string, data Spreadsheet) (*book, error) {
	b := &book{id: id, title: data.Title}
	if b.title == "" {
		b.title = "Untitled spreadsheet"
	}
	sheets := data.Sheets
	if len(sheets) == 0 {
		sheets = []Sheet{{Title: "Sheet1"}}
	}
	for i, in := range sheets {
		if in.Title == "" {
			return nil, fmt.Errorf("sheet %d has no title", i)
		}
		if b.sheetByTitle(in.Title) != nil {
			return nil, fmt.Errorf("sheet title %q is used twice", in.Title)
		}
		sh := &sheet{title: in.Title}
		if in.SheetID != nil {
			if *in.SheetID < 0 {
				return nil, fmt.Errorf("sheet %q: negative sheet id", in.Title)
			}
			if other, _ := b.sheetByID(*in.SheetID); other != nil {
				return nil, fmt.Errorf("sheet id %d is used twice", *in.SheetID)
			}
			sh.id = *in.SheetID
		} else {
			sh.id = b.newSheetID(in.Title)
		}
		width := 0
		for ri, row := range in.Rows {
			for ci, v := range row {
				c, err := cellFromPlain(v)
				if err != nil {
					return nil, fmt.Errorf("sheet %q %s%d: %w", in.Title, a1.ColumnName(ci), ri+1, err)
				}
				sh.set(ri, ci, c)
			}
			width = max(width, len(row))
		}
		for ref, f := range in.Formulas {
			r, err := a1.Parse(ref)
			if err != nil || r.Sheet != "" || r.EndCol != r.StartCol || r.EndRow != r.StartRow {
				return nil, fmt.Errorf("sheet %q: formula key %q is not a cell like C3", in.Title, ref)
			}
			if !strings.HasPrefix(f, "=") || len(f) < 2 {
				return nil, fmt.Errorf("sheet %q %s: formula %q does not start with =", in.Title, ref, f)
			}
			if tooLong(f) {
				return nil, fmt.Errorf("sheet %q %s: formula longer than %d characters", in.Title, ref, MaxCellChars)
			}
			row, col := r.StartRow-1, r.StartCol
			c := cell{k: kindError, s: FormulaPlaceholder}
			if cur := sh.at(row, col); cur != nil && !cur.empty() {
				c = *cur
			}
			c.formula = f
			sh.set(row, col, c)
			width = max(width, col+1)
		}
		sh.trim()
		sh.rowCount, sh.colCount = in.RowCount, in.ColumnCount
		if sh.rowCount == 0 {
			sh.rowCount = max(DefaultRowCount, len(sh.rows))
		}
		if sh.colCount == 0 {
			sh.colCount = max(DefaultColumnCount, width)
		}
		if sh.rowCount < len(sh.rows) || sh.colCount < sh.dataWidth() {
			return nil, fmt.Errorf("sheet %q: data does not fit a grid of %d rows × %d columns",
				in.Title, sh.rowCount, sh.colCount)
		}
		if sh.colCount > a1.MaxColumns || int64(sh.rowCount)*int64(sh.colCount) > maxGridCells {
			return nil, fmt.Errorf("sheet %q: grid of %d×%d is larger than Google allows", in.Title, sh.rowCount, sh.colCount)
		}
		b.sheets = append(b.sheets, sh)
	}
	return b, nil
}

// maxGridCells is Google's limit of cells in a spreadsheet, applied per
// sheet as a sanity bound.
const maxGridCells = 10_000_000

// cellFromPlain converts a snapshot value; strings are taken literally.
func cellFromPlain(v any) (cell, error) {
	switch v := v.(type) {
	case nil:
		return cell{}, nil
	case string:
		if tooLong(v) {
			return cell{}, fmt.Errorf("text longer than %d characters", MaxCellChars)
		}
		return textCell(v), nil
	case bool:
		return boolCell(v), nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return cell{}, fmt.Errorf("number %s: %w", v, err)
		}
		return numberCell(f)
	case float64:
		return numberCell(v)
	case float32:
		return numberCell(float64(v))
	case int:
		return numberCell(float64(v))
	case int8:
		return numberCell(float64(v))
	case int16:
		return numberCell(float64(v))
	case int32:
		return numberCell(float64(v))
	case int64:
		return numberCell(float64(v))
	case uint:
		return numberCell(float64(v))
	case uint8:
		return numberCell(float64(v))
	case uint16:
		return numberCell(float64(v))
	case uint32:
		return numberCell(float64(v))
	case uint64:
		return numberCell(float64(v))
	}
	return cell{}, fmt.Errorf("unsupported value of type %T", v)
}

func numberCell(f float64) (cell, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return cell{}, fmt.Errorf("number %v cannot be stored", f)
	}
	return cell{k: kindNumber, n: f}, nil
}
