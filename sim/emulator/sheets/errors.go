package sheets

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error in Google's JSON shape:
//
//	{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT","details":[…]}}
//
// details are sent only where Google sends them (quota errors).
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Status, e.Message) }

func newAPIError(code int, format string, args ...any) *apiError {
	return &apiError{Code: code, Status: statusOf(code), Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, format, args...)
}

var errSpreadsheetNotFound = &apiError{
	Code: http.StatusNotFound, Status: "NOT_FOUND", Message: "Requested entity was not found.",
}

func errUnparsableRange(rng string) *apiError {
	return badRequest("Unable to parse range: %s", rng)
}

// statusOf maps HTTP codes to the canonical gRPC status names Google puts in
// error bodies.
func statusOf(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 500:
		return "INTERNAL"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	if code >= 500 {
		return "UNKNOWN"
	}
	return "FAILED_PRECONDITION"
}

// defaultMessage is the text Google sends with a status it reports without
// further explanation; injected faults use it.
func defaultMessage(code int) string {
	switch code {
	case 429:
		return "Resource has been exhausted (e.g. check quota)."
	case 500:
		return "Internal error encountered."
	case 503:
		return "The service is currently unavailable."
	case 504:
		return "The request timed out. Please try again."
	}
	if t := http.StatusText(code); t != "" {
		return t + "."
	}
	return "Error."
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_, _ = w.Write(body)
}
