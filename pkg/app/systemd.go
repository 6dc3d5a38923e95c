package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifyReady tells systemd (Type=notify) that the role is up. Outside
// systemd NOTIFY_SOCKET is unset and this does nothing.
func notifyReady(log *slog.Logger) {
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("sd_notify READY failed", "err", err)
	} else if ok {
		log.Info("notified systemd: ready")
	}
}

func notifyStopping() { _, _ = daemon.SdNotify(false, daemon.SdNotifyStopping) }

// startWatchdog pings systemd's watchdog at half the configured interval while
// the process runs; a hung process stops pinging and systemd restarts it.
func startWatchdog(ctx context.Context, log *slog.Logger) (stop func()) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := daemon.SdNotify(false, daemon.SdNotifyWatchdog); err != nil {
					log.Warn("watchdog ping failed", "err", err)
				}
			}
		}
	}()
	return cancel
}
