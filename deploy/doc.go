// Package deploy holds no Go code: it is the home of the operations files and
// of the tests that keep them honest.
//
//   - deploy.sh, rollback.sh, lib.sh — blue-green releases on one server
//     (releases/<time>_<hash>, an atomic current symlink, a smoke test before
//     the switch, readiness after it, automatic rollback, pruning);
//   - systemd/ — one unit per role, a worker template for several instances
//     and a target grouping them, Type=notify with watchdog and hardening;
//   - prometheus/alerts.yml and grafana/marketingbot.json — alert rules and a
//     dashboard over the marketingbot_* metric families;
//   - README.md, section Operations — installing and running the system;
//   - the repository root's Dockerfile and docker-compose.yml.
//
// The tests run the real scripts against temporary directories with a fake
// systemctl, fake role binaries and httptest readiness endpoints; they never
// touch the machine's systemd or /home. They also validate the units (with
// systemd-analyze when present), the compose file, the Dockerfile, the alert
// rules and the dashboard.
package deploy
