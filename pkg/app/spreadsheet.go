package app

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"marketingbot/pkg/config"
	"marketingbot/pkg/sheets"
	"marketingbot/pkg/store"
)

// sheetsOptions maps the configuration onto the Sheets transport.
func sheetsOptions(cfg *config.Config, rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger) sheets.Options {
	s := cfg.Sheets
	return sheets.Options{
		SpreadsheetID: s.SpreadsheetID, Endpoint: s.Endpoint, CredentialsFile: s.CredentialsFile,
		Batching: s.Batching, ProcessLocal: !s.FleetCoalescing, FlushInterval: s.FlushInterval, MaxBatch: s.MaxBatch,
		ReadsPerWindow: s.ReadsPerMinute, WritesPerWindow: s.WritesPerMinute, QuotaWindow: s.QuotaWindow,
		RequestTimeout: s.RequestTimeout,
		Redis:          rdb, KeyPrefix: cfg.Redis.KeyPrefix, Registry: reg, Logger: log,
	}
}

// storeOptions maps the configuration onto the spreadsheet's repositories.
func storeOptions(cfg *config.Config, rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger) store.Options {
	s := cfg.Sheets
	return store.Options{
		Titles: store.Titles(s.Titles), Headers: storeHeaders(s.Headers), HeaderTTL: s.HeaderTTL,
		AuthTTL: s.AuthCacheTTL, KnowledgeTTL: s.KnowledgeTTL, ListingsTTL: s.ListingsTTL,
		Location: cfg.Location(), Redis: rdb, KeyPrefix: cfg.Redis.KeyPrefix, Registry: reg, Logger: log,
	}
}

// storeHeaders maps sheets.headers onto the store's header names.
func storeHeaders(h config.SheetHeaders) store.Headers {
	out := store.Headers{}
	for sheet, fields := range h.Map() {
		out[store.SheetKey(sheet)] = fields
	}
	return out
}

// openSpreadsheet builds the Sheets client and the repositories on it; the
// caller closes the client.
func openSpreadsheet(ctx context.Context, cfg *config.Config, rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger) (*sheets.Client, *store.Spreadsheet, error) {
	sc, err := sheets.New(ctx, sheetsOptions(cfg, rdb, reg, log))
	if err != nil {
		return nil, nil, err
	}
	st, err := store.New(sc, storeOptions(cfg, rdb, reg, log))
	if err != nil {
		sc.Close()
		return nil, nil, err
	}
	return sc, st, nil
}
