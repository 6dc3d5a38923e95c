package config_test

import (
	"errors"
	"testing"
	"time"

	"marketingbot/pkg/config"
)

// hours.* is validated for the worker and the poller (the key named), and
// an environment list is split at commas (a line of times only goes on
// with the days before it).
func TestHoursSettings(t *testing.T) {
	env := map[string]string{
		"MARKETINGBOT_HOURS_SCHEDULE": "mon-fri 09:00-13:00, 14:00-19:00",
		"MARKETINGBOT_HOURS_TIMEZONE": "Asia/Yekaterinburg",
		"MARKETINGBOT_HOURS_HOLIDAYS": "2026-12-31..2027-01-08",
	}
	cfg, err := config.LoadFor(config.RolePoller, config.Options{File: writeConfig(t, validYAML), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := cfg.Schedule()
	if err != nil || sch.Location().String() != "Asia/Yekaterinburg" || !cfg.Hours.AIMeanwhile {
		t.Fatalf("schedule %v %v, ai_meanwhile %v", sch.Location(), err, cfg.Hours.AIMeanwhile)
	}
	ekb := sch.Location()
	for at, want := range map[time.Time]bool{
		time.Date(2026, 12, 11, 10, 0, 0, 0, ekb):  true,  // a Friday morning
		time.Date(2026, 12, 11, 13, 30, 0, 0, ekb): false, // lunch
		time.Date(2026, 12, 11, 15, 0, 0, 0, ekb):  true,  // the line of times only
		time.Date(2027, 1, 5, 10, 0, 0, 0, ekb):    false, // a Tuesday of the holidays
	} {
		if got := sch.IsOpen(at); got != want {
			t.Errorf("IsOpen(%s) = %v", at, got)
		}
	}
	for key, bad := range map[string]string{
		"hours.schedule": "weekdays 9-18",
		"hours.timezone": "Moscow",
		"hours.holidays": "31.02.2027",
	} {
		env := map[string]string{config.EnvName(key): bad}
		_, err := config.LoadFor(config.RoleWorker, config.Options{File: writeConfig(t, validYAML), Env: env})
		var cerr *config.Error
		if !errors.As(err, &cerr) || cerr.Key != key {
			t.Errorf("%s=%q: got %v, want an error naming %s", key, bad, err, key)
		}
	}
	def := config.Defaults()
	if sch, _ := def.Schedule(); !sch.Always() {
		t.Error("the default schedule should be always open")
	}
}
