// Package telegram is our side of the Telegram Bot API: the telego client
// (pointed at api.telegram.org or the emulator), and the outgoing-message
// path every worker shares — a Redis-backed limiter that keeps the whole
// fleet under Telegram's flood limits with chat replies ahead of broadcasts,
// retry on 429 honouring retry_after, and classification of permanent errors
// (blocked by the user, chat not found, entity errors).
package telegram

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"

	"marketingbot/pkg/obs"
)

// BotOptions say how to reach the Bot API.
type BotOptions struct {
	Token  string // the bot token; never logged
	APIURL string // https://api.telegram.org or an emulator
	// RequestTimeout bounds one HTTP request; for long polling it must be
	// longer than the poll timeout Telegram holds a getUpdates call.
	RequestTimeout time.Duration
}

// NewBot builds the telego client. It uses net/http rather than telego's
// default fasthttp client so that contexts cancel in-flight calls on shutdown.
func NewBot(o BotOptions, log *slog.Logger) (*telego.Bot, error) {
	client := &http.Client{
		Timeout: o.RequestTimeout,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	bot, err := telego.NewBot(o.Token,
		telego.WithAPIServer(strings.TrimRight(o.APIURL, "/")),
		telego.WithAPICaller(redactingCaller{inner: ta.HTTPCaller{Client: client}, token: o.Token}),
		telego.WithLogger(obs.TelegoLogger{L: log, Token: o.Token}),
	)
	if err != nil {
		// telego's message may include the token; never log or return it.
		return nil, fmt.Errorf("telegram: create client: %s", strings.ReplaceAll(err.Error(), o.Token, "BOT_TOKEN"))
	}
	return bot, nil
}

// redactingCaller keeps the bot token out of error messages: net/http puts
// the request URL, which contains the token, into its errors, and those end
// up in logs.
type redactingCaller struct {
	inner ta.Caller
	token string
}

func (c redactingCaller) Call(ctx context.Context, url string, data *ta.RequestData) (*ta.Response, error) {
	resp, err := c.inner.Call(ctx, url, data)
	if err != nil {
		return resp, &redactedError{msg: strings.ReplaceAll(err.Error(), c.token, "BOT_TOKEN"), err: err}
	}
	return resp, nil
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
