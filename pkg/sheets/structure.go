package sheets

import (
	"context"
	"errors"
	"fmt"

	sheetsapi "google.golang.org/api/sheets/v4"
)

// SheetInfo is a sheet (tab) of the spreadsheet: its id, title and grid.
type SheetInfo struct {
	ID      int64
	Title   string
	Rows    int // grid rows
	Columns int // grid columns: values.update beyond them is refused
}

// Sheets lists the spreadsheet's sheets in tab order (one spreadsheets.get,
// a read request).
func (c *Client) Sheets(ctx context.Context) ([]SheetInfo, error) {
	var ss *sheetsapi.Spreadsheet
	err := c.svc.call(ctx, quotaRead, "spreadsheets.get", false, func(ctx context.Context) error {
		var err error
		ss, err = c.svc.gs.Spreadsheets.Get(c.id).Fields("sheets.properties(sheetId,title,gridProperties)").Context(ctx).Do()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sheets: spreadsheet %s: %w", c.id, err)
	}
	out := make([]SheetInfo, 0, len(ss.Sheets))
	for _, sh := range ss.Sheets {
		p := sh.Properties
		if p == nil {
			continue
		}
		info := SheetInfo{ID: p.SheetId, Title: p.Title}
		if g := p.GridProperties; g != nil {
			info.Rows, info.Columns = int(g.RowCount), int(g.ColumnCount)
		}
		out = append(out, info)
	}
	return out, nil
}

// AddSheets creates sheets with these titles (Google's default grid) in one
// spreadsheets.batchUpdate of addSheet requests, a write request. It is not
// retried after an ambiguous failure: a second addSheet of a title that
// was created is refused, so the caller looks again instead.
func (c *Client) AddSheets(ctx context.Context, titles ...string) error {
	if len(titles) == 0 {
		return nil
	}
	req := &sheetsapi.BatchUpdateSpreadsheetRequest{}
	for _, t := range titles {
		req.Requests = append(req.Requests, &sheetsapi.Request{AddSheet: &sheetsapi.AddSheetRequest{
			Properties: &sheetsapi.SheetProperties{Title: t}}})
	}
	return c.structural(ctx, "add sheets", req)
}

// AppendColumns adds n columns at the right end of a sheet's grid
// (appendDimension), so that cells beyond the grid can be written.
func (c *Client) AppendColumns(ctx context.Context, sheetID int64, n int) error {
	if n <= 0 {
		return errors.New("sheets: append columns: n must be positive")
	}
	req := &sheetsapi.BatchUpdateSpreadsheetRequest{Requests: []*sheetsapi.Request{{AppendDimension: &sheetsapi.AppendDimensionRequest{
		SheetId: sheetID, Dimension: "COLUMNS", Length: int64(n)}}}}
	return c.structural(ctx, "append columns", req)
}

// structural sends one spreadsheets.batchUpdate (not coalesced: these are
// rare, one-off changes of the spreadsheet's structure).
func (c *Client) structural(ctx context.Context, what string, req *sheetsapi.BatchUpdateSpreadsheetRequest) error {
	err := c.svc.callNoAmbiguousRetry(ctx, quotaWrite, "spreadsheets.batchUpdate", false, func(ctx context.Context) error {
		_, err := c.svc.gs.Spreadsheets.BatchUpdate(c.id, req).Context(ctx).Do()
		return err
	})
	if err != nil {
		return fmt.Errorf("sheets: %s in spreadsheet %s: %w", what, c.id, err)
	}
	return nil
}
