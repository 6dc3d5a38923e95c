package gemini

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// apiError is an error in Google's JSON shape,
// {"error":{"code","message","status","details"}}, which genai decodes into
// genai.APIError.
type apiError struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Status  string           `json:"status"`
	Details []map[string]any `json:"details,omitempty"`
}

func (e *apiError) summary() string {
	return e.Status + ": " + e.Message
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_ = json.NewEncoder(w).Encode(struct {
		Error *apiError `json:"error"`
	}{e})
}

const (
	typeErrorInfo        = "type.googleapis.com/google.rpc.ErrorInfo"
	typeLocalizedMessage = "type.googleapis.com/google.rpc.LocalizedMessage"
	typeRetryInfo        = "type.googleapis.com/google.rpc.RetryInfo"
	typeQuotaFailure     = "type.googleapis.com/google.rpc.QuotaFailure"
	typeHelp             = "type.googleapis.com/google.rpc.Help"
	apiService           = "generativelanguage.googleapis.com"
	msgInvalidKey        = "API key not valid. Please pass a valid API key."
	msgOverloaded        = "The model is overloaded. Please try again later."
)

func errMissingKey() *apiError {
	return &apiError{
		Code:    http.StatusForbidden,
		Status:  "PERMISSION_DENIED",
		Message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
	}
}

func errInvalidKey() *apiError {
	return &apiError{
		Code:    http.StatusBadRequest,
		Status:  "INVALID_ARGUMENT",
		Message: msgInvalidKey,
		Details: []map[string]any{
			{
				"@type":    typeErrorInfo,
				"reason":   "API_KEY_INVALID",
				"domain":   "googleapis.com",
				"metadata": map[string]any{"service": apiService},
			},
			{
				"@type":   typeLocalizedMessage,
				"locale":  "en-US",
				"message": msgInvalidKey,
			},
		},
	}
}

func errModelNotFound(model, version, method string) *apiError {
	return &apiError{
		Code:    http.StatusNotFound,
		Status:  "NOT_FOUND",
		Message: fmt.Sprintf("models/%s is not found for API version %s, or is not supported for %s.", model, version, method),
	}
}

func errNotFound(message string) *apiError {
	return &apiError{Code: http.StatusNotFound, Status: "NOT_FOUND", Message: message}
}

func errInvalidArgument(message string) *apiError {
	return &apiError{Code: http.StatusBadRequest, Status: "INVALID_ARGUMENT", Message: message}
}

func errUnavailable(message string) *apiError {
	return &apiError{Code: http.StatusServiceUnavailable, Status: "UNAVAILABLE", Message: message}
}

// errInjected builds the error a fault rule produces, worded like the real
// API's. A 429 carries the QuotaFailure, Help and RetryInfo details the real
// one does; clients are expected to wait RetryInfo.retryDelay.
func errInjected(status int, retryDelay time.Duration, model string) *apiError {
	switch status {
	case http.StatusTooManyRequests:
		return &apiError{
			Code:    status,
			Status:  "RESOURCE_EXHAUSTED",
			Message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
			Details: []map[string]any{
				{
					"@type": typeQuotaFailure,
					"violations": []map[string]any{{
						"quotaMetric":     apiService + "/generate_content_requests",
						"quotaId":         "GenerateRequestsPerMinutePerProjectPerModel",
						"quotaDimensions": map[string]any{"location": "global", "model": model},
					}},
				},
				{
					"@type": typeHelp,
					"links": []map[string]any{{
						"description": "Learn more about Gemini API quotas",
						"url":         "https://ai.google.dev/gemini-api/docs/rate-limits",
					}},
				},
				{
					"@type":      typeRetryInfo,
					"retryDelay": formatDuration(retryDelay),
				},
			},
		}
	case http.StatusServiceUnavailable:
		return errUnavailable(msgOverloaded)
	case http.StatusGatewayTimeout:
		return &apiError{Code: status, Status: "DEADLINE_EXCEEDED", Message: "The request timed out. Please try again."}
	default:
		return &apiError{Code: status, Status: "INTERNAL", Message: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"}
	}
}

// formatDuration renders d as a protobuf Duration in JSON ("3s", "1.5s").
func formatDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}
