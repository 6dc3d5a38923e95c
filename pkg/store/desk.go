package store

import (
	"context"
	"strings"
	"time"

	"marketingbot/pkg/domain"
)

// The operators' desk: canned answers (Templates) and days off (Holidays),
// both the team's sheets, read whole and cached like the knowledge base
// (Options.KnowledgeTTL): an edit counts within minutes.

const (
	cacheTemplates = "templates"
	cacheHolidays  = "holidays"
)

// Templates returns the Templates sheet's rows that have a key and a text,
// keys trimmed, in the sheet's order.
func (s *Spreadsheet) Templates(ctx context.Context) ([]domain.Template, error) {
	return cached(ctx, s, cacheTemplates, s.o.KnowledgeTTL, func(ctx context.Context) ([]domain.Template, error) {
		l, data, err := s.readSheet(ctx, SheetTemplates)
		if err != nil {
			return nil, err
		}
		var out []domain.Template
		for _, row := range data {
			r := record{l, row}
			t := domain.Template{Key: r.str(fKey), Title: r.str(fTitle), Text: strings.TrimSpace(r.raw(fText))}
			if t.Key != "" && t.Text != "" {
				out = append(out, t)
			}
		}
		return out, nil
	})
}

// Holidays returns the days of the Holidays sheet: a date as people type
// it (2026-01-07, 07.01.2026) or as the spreadsheet keeps a date cell (a
// serial day number). Rows whose date cannot be read are skipped.
func (s *Spreadsheet) Holidays(ctx context.Context) ([]domain.Holiday, error) {
	return cached(ctx, s, cacheHolidays, s.o.KnowledgeTTL, func(ctx context.Context) ([]domain.Holiday, error) {
		l, data, err := s.readSheet(ctx, SheetHolidays)
		if err != nil {
			return nil, err
		}
		var out []domain.Holiday
		for _, row := range data {
			r := record{l, row}
			if raw := r.str(fDate); raw != "" {
				// A civil date: read in UTC and kept at its midnight.
				if t, ok := domain.ParseSheetTime(raw, time.UTC); ok {
					y, m, d := t.Date()
					out = append(out, domain.Holiday{Day: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Title: r.str(fTitle)})
				} else {
					s.log.Warn("holidays sheet: a date that cannot be read is skipped", "sheet", l.title, "value", raw)
				}
			}
		}
		return out, nil
	})
}

// TemplateRecord renders a template as a Templates record (fixtures).
func TemplateRecord(t domain.Template) Record {
	return Record{fKey: t.Key, fTitle: t.Title, fText: t.Text}
}

// HolidayRecord renders a day off as a Holidays record (fixtures).
func HolidayRecord(h domain.Holiday) Record {
	return Record{fDate: h.Day.Format("2006-01-02"), fTitle: h.Title}
}
