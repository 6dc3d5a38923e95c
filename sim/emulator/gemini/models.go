package gemini

import (
	"net/http"
	"slices"
	"sync"
)

// DefaultModels are the models the emulator knows when Options.Models is
// empty: the Gemini API's current text and embedding models (December 2026,
// https://ai.google.dev/gemini-api/docs/models and …/deprecations). Shut
// down names — gemini-1.x, gemini-2.0-*, gemini-2.5-pro/flash,
// gemini-3-pro-preview — are deliberately absent, so that models.get and
// generateContent answer 404 NOT_FOUND for them as Google does.
var DefaultModels = []string{
	"gemini-3-flash-preview",
	"gemini-3.1-pro-preview",
	"gemini-3.1-flash-lite",
	"gemini-3.5-flash",
	"gemini-3.5-flash-lite",
	"gemini-3.6-flash",
	"gemini-3.7-flash",
	"gemini-3.8-flash",
	"gemini-embedding-001",
}

// modelSet is the allowlist: the only model names the API answers for.
type modelSet struct {
	mu      sync.RWMutex
	base    []string // from Options (or DefaultModels); Reset goes back to it
	names   []string // in the order given
	allowed map[string]bool
}

func (m *modelSet) set(models []string) {
	names, allowed := []string{}, map[string]bool{}
	for _, name := range models {
		name = trimModel(name)
		if name != "" && !allowed[name] {
			allowed[name] = true
			names = append(names, name)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.names, m.allowed = names, allowed
}

func (m *modelSet) allows(name string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.allowed[name]
}

func (m *modelSet) list() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.names)
}

// SetModels replaces the models the API knows, at run time: a model taken
// away answers 404 NOT_FOUND from then on, as when Google shuts one down.
// An empty list means DefaultModels.
func (s *Server) SetModels(models []string) {
	if len(models) == 0 {
		models = DefaultModels
	}
	s.models.set(models)
	s.logger.Info("gemini emulator models set", "models", s.models.list())
}

// Models lists the models the API knows.
func (s *Server) Models() []string { return s.models.list() }

type modelsJSON struct {
	Models []string `json:"models"`
}

// mountModelControl serves GET and PUT /_emulator/models.
func (s *Server) mountModelControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/models", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, modelsJSON{Models: s.Models()})
	})
	mux.HandleFunc("PUT /_emulator/models", func(w http.ResponseWriter, r *http.Request) {
		var mj modelsJSON
		if err := decodeControl(r, &mj); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.SetModels(mj.Models)
		writeJSON(w, http.StatusOK, modelsJSON{Models: s.Models()})
	})
}
