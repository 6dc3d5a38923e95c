package sheets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// controlError is the body of a failed control API call.
type controlError struct {
	Error string `json:"error"`
}

func writeControlError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, controlError{Error: err.Error()})
}

// quotaJSON is Quota on the wire of the control API.
type quotaJSON struct {
	ReadsPerWindow         int   `json:"reads_per_window"`
	WritesPerWindow        int   `json:"writes_per_window"`
	ProjectReadsPerWindow  int   `json:"project_reads_per_window"`
	ProjectWritesPerWindow int   `json:"project_writes_per_window"`
	WindowMS               int64 `json:"window_ms"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, p string) {
	parts := strings.Split(p, "/")
	switch {
	case p == "stats" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Stats())
	case p == "stats/reset" && r.Method == http.MethodPost:
		s.ResetStats()
		writeJSON(w, http.StatusOK, s.Stats())
	case p == "faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string][]Fault{"faults": s.Faults()})
	case p == "faults" && r.Method == http.MethodPost:
		var f Fault
		if err := decodeControl(r, &f); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.InjectFault(f); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string][]Fault{"faults": s.Faults()})
	case p == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		writeJSON(w, http.StatusOK, map[string][]Fault{"faults": {}})
	case p == "quota" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, toQuotaJSON(s.Quota()))
	case p == "quota" && r.Method == http.MethodPut:
		var q quotaJSON
		if err := decodeControl(r, &q); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		if q.ReadsPerWindow < 0 || q.WritesPerWindow < 0 || q.ProjectReadsPerWindow < 0 || q.ProjectWritesPerWindow < 0 || q.WindowMS < 0 {
			writeControlError(w, http.StatusBadRequest, errors.New("quota values must not be negative"))
			return
		}
		s.SetQuota(Quota{
			ReadsPerWindow: q.ReadsPerWindow, WritesPerWindow: q.WritesPerWindow,
			ProjectReadsPerWindow: q.ProjectReadsPerWindow, ProjectWritesPerWindow: q.ProjectWritesPerWindow,
			Window: time.Duration(q.WindowMS) * time.Millisecond,
		})
		writeJSON(w, http.StatusOK, toQuotaJSON(s.Quota()))
	case p == "reset" && r.Method == http.MethodPost:
		s.Reset()
		writeJSON(w, http.StatusOK, struct{}{})
	case p == "spreadsheets" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string][]string{"spreadsheet_ids": s.SpreadsheetIDs()})
	case len(parts) == 2 && parts[0] == "spreadsheets":
		s.controlSpreadsheet(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "spreadsheets" && parts[2] == "xlsx":
		s.controlXLSX(w, r, parts[1])
	default:
		writeControlError(w, http.StatusNotFound, fmt.Errorf("no control endpoint %s /_emulator/%s", r.Method, p))
	}
}

func toQuotaJSON(q Quota) quotaJSON {
	return quotaJSON{
		ReadsPerWindow: q.ReadsPerWindow, WritesPerWindow: q.WritesPerWindow,
		ProjectReadsPerWindow: q.ProjectReadsPerWindow, ProjectWritesPerWindow: q.ProjectWritesPerWindow,
		WindowMS: q.Window.Milliseconds(),
	}
}

func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	return nil
}

func (s *Server) controlSpreadsheet(w http.ResponseWriter, r *http.Request, escID string) {
	id, err := url.PathUnescape(escID)
	if err != nil || id == "" {
		writeControlError(w, http.StatusBadRequest, fmt.Errorf("bad spreadsheet id %q", escID))
		return
	}
	switch r.Method {
	case http.MethodGet:
		snap, err := s.Snapshot(id)
		if err != nil {
			writeControlError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, snap)
	case http.MethodPut:
		var data Spreadsheet
		if err := decodeControl(r, &data); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		if data.SpreadsheetID != "" && data.SpreadsheetID != id {
			writeControlError(w, http.StatusBadRequest,
				fmt.Errorf("body spreadsheet_id %q differs from the path %q", data.SpreadsheetID, id))
			return
		}
		if err := s.Load(id, data); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		snap, _ := s.Snapshot(id)
		writeJSON(w, http.StatusOK, snap)
	case http.MethodDelete:
		if err := s.Delete(id); err != nil {
			writeControlError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	default:
		writeControlError(w, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed", r.Method))
	}
}

func (s *Server) controlXLSX(w http.ResponseWriter, r *http.Request, escID string) {
	id, err := url.PathUnescape(escID)
	if err != nil || id == "" {
		writeControlError(w, http.StatusBadRequest, fmt.Errorf("bad spreadsheet id %q", escID))
		return
	}
	switch r.Method {
	case http.MethodGet:
		var buf bytes.Buffer
		if err := s.WriteXLSX(r.Context(), id, &buf); err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, ErrNotFound) {
				code = http.StatusNotFound
			}
			writeControlError(w, code, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.xlsx"`, safeFileName(id)))
		_, _ = w.Write(buf.Bytes())
	case http.MethodPut:
		data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
		if err != nil {
			writeControlError(w, http.StatusBadRequest, fmt.Errorf("read body: %w", err))
			return
		}
		if err := s.LoadXLSX(r.Context(), id, bytes.NewReader(data), int64(len(data))); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		snap, _ := s.Snapshot(id)
		writeJSON(w, http.StatusOK, snap)
	default:
		writeControlError(w, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed", r.Method))
	}
}

func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
