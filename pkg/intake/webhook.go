package intake

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
)

// SecretHeader is the header Telegram sends with every webhook call.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Webhook returns the handler Telegram calls. 200 only after the update is
// stored (or known); 500 makes Telegram deliver it again; 401 for a wrong secret.
func (in *Intake) Webhook(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get(SecretHeader)
		if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			in.m.Ignored.WithLabelValues("bad_secret").Inc()
			in.log.Warn("webhook call with a wrong secret", "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		if !json.Valid(body) {
			// Retrying cannot fix it; answer 200 so Telegram does not block the queue behind it.
			in.m.Received.WithLabelValues("malformed").Inc()
			in.m.Ignored.WithLabelValues("malformed").Inc()
			w.WriteHeader(http.StatusOK)
			return
		}
		if _, err := in.Accept(r.Context(), body); err != nil {
			in.log.Warn("webhook update not stored; Telegram will retry", "err", err)
			http.Error(w, "temporarily unavailable", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
