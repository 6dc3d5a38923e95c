package obs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// AsynqLogger adapts slog to asynq's Logger interface.
type AsynqLogger struct{ L *slog.Logger }

func (a AsynqLogger) log(level slog.Level, args []any) {
	a.L.Log(context.Background(), level, fmt.Sprint(args...), "component", "asynq")
}

func (a AsynqLogger) Debug(args ...any) { a.log(slog.LevelDebug, args) }
func (a AsynqLogger) Info(args ...any)  { a.log(slog.LevelInfo, args) }
func (a AsynqLogger) Warn(args ...any)  { a.log(slog.LevelWarn, args) }
func (a AsynqLogger) Error(args ...any) { a.log(slog.LevelError, args) }
func (a AsynqLogger) Fatal(args ...any) {
	a.log(slog.LevelError, args)
	os.Exit(1)
}

// TelegoLogger adapts slog to telego's Logger interface. telego prints request
// URLs, which contain the bot token; it is replaced before logging.
type TelegoLogger struct {
	L     *slog.Logger
	Token string
}

func (t TelegoLogger) redact(s string) string {
	if t.Token == "" {
		return s
	}
	return strings.ReplaceAll(s, t.Token, "BOT_TOKEN")
}

func (t TelegoLogger) Debugf(format string, args ...any) {
	t.L.Debug(t.redact(fmt.Sprintf(format, args...)), "component", "telego")
}

func (t TelegoLogger) Errorf(format string, args ...any) {
	msg := t.redact(fmt.Sprintf(format, args...))
	if strings.Contains(msg, "context canceled") {
		// A call cancelled by our own shutdown is not an error.
		t.L.Debug(msg, "component", "telego")
		return
	}
	t.L.Warn(msg, "component", "telego")
}
