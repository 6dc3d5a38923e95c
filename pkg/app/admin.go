package app

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"marketingbot/pkg/config"
)

// AdminPath is where the asynq web UI lives on the bot.
const AdminPath = "/admin/queues"

// mountAdmin serves asynqmon under AdminPath behind HTTP basic auth; it is
// absent unless admin.username and admin.password are configured.
func mountAdmin(mux *http.ServeMux, cfg *config.Config) error {
	if cfg.Admin.Username == "" || cfg.Admin.Password == "" {
		return nil
	}
	var conn asynq.RedisConnOpt
	if cfg.Redis.Sentinel.Master != "" {
		conn = asynq.RedisFailoverClientOpt{MasterName: cfg.Redis.Sentinel.Master, SentinelAddrs: cfg.Redis.Sentinel.Addrs,
			SentinelPassword: cfg.Redis.Sentinel.Password, Password: cfg.Redis.Sentinel.Password, DB: cfg.Redis.Sentinel.DB}
	} else {
		var err error
		if conn, err = asynq.ParseRedisURI(cfg.Redis.URL); err != nil {
			return &config.Error{Key: "redis.url", Msg: "is not usable by the admin UI: " + err.Error()}
		}
	}
	ui := asynqmon.New(asynqmon.Options{RootPath: AdminPath, RedisConnOpt: conn, ReadOnly: cfg.Admin.ReadOnly})
	h := basicAuth(cfg.Admin.Username, cfg.Admin.Password, ui)
	mux.Handle(AdminPath, h)
	mux.Handle(AdminPath+"/", h)
	return nil
}

// basicAuth compares hashes in constant time, so neither the length nor the
// content of the secret leaks through timing.
func basicAuth(user, pass string, next http.Handler) http.Handler {
	wantUser := sha256.Sum256([]byte(user))
	wantPass := sha256.Sum256([]byte(pass))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotUser := sha256.Sum256([]byte(u))
		gotPass := sha256.Sum256([]byte(p))
		userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
		passOK := subtle.ConstantTimeCompare(gotPass[:], wantPass[:])
		if !ok || userOK&passOK != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="MarketingBot admin", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
