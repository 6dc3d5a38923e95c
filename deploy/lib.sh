# shellcheck shell=bash
# Shared by deploy.sh and rollback.sh (sourced, not run). Layout on the server:
#
#   $MARKETINGBOT_BASE/            (default /home/marketing)
#   ├── shared/                    config.yaml, .env, credentials.json, messages.ru.yaml, system_prompt.txt
#   ├── releases/YYYYMMDD_HHMMSS_<hash>/bin/{bot,worker,poller}
#   ├── current -> releases/<active release>
#   └── .deploy.lock               held by a running deploy or rollback
#
# Release names sort by time, so "the previous release" is the one before
# current in name order. A release that went live and failed its readiness
# check carries a FAILED file and is never chosen as a rollback target.
#
# Every path and command comes from the environment so that the tests run the
# real scripts against a temporary directory, a fake systemctl and fake roles.

export LC_ALL=C # name order = byte order, whatever the operator's locale

BASE=${MARKETINGBOT_BASE:-/home/marketing}
SHARED=${SHARED_DIR:-$BASE/shared}
RELEASES=$BASE/releases
CURRENT=$BASE/current
CONFIG=${CONFIG_FILE:-$SHARED/config.yaml}
LOCK_FILE=${LOCK_FILE:-$BASE/.deploy.lock}
UNIT_PREFIX=${UNIT_PREFIX:-marketingbot}
ROLES=(bot worker poller)

SYSTEMCTL=${SYSTEMCTL:-systemctl}
FLOCK=${FLOCK:-flock}
# READY_CHECK gets the URL as its last argument and exits 0 when the role is
# ready; its output is shown when a role never becomes ready.
READY_CHECK=${READY_CHECK:-curl -sS --fail-with-body --max-time 2}
READY_TIMEOUT=${READY_TIMEOUT:-60}
READY_INTERVAL=${READY_INTERVAL:-0.5}
# Readiness URLs per role; in READY_URL_WORKER %i is the instance (01..99),
# matching Environment=MARKETINGBOT_HTTP_WORKER_ADDR=127.0.0.1:92%i in the unit.
READY_URL_BOT=${READY_URL_BOT:-http://127.0.0.1:8081/readyz}
READY_URL_POLLER=${READY_URL_POLLER:-http://127.0.0.1:9102/readyz}
READY_URL_WORKER=${READY_URL_WORKER:-http://127.0.0.1:92%i/readyz}
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-60}

# Results shared with the calling script.
workers=()            # worker instances to restart (set by the caller from worker_instances)
not_ready_detail=""   # why wait_ready or restart_all failed
smoke_failure=""      # why smoke_test failed

read -r -a systemctl_cmd <<<"$SYSTEMCTL"
read -r -a ready_cmd <<<"$READY_CHECK"

say() { printf '==> %s\n' "$*"; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() {
	printf '==> FAILED: %s\n' "$*" >&2
	exit 1
}

# now_us prints the wall clock in microseconds (bash 5's EPOCHREALTIME).
now_us() { printf '%s' "${EPOCHREALTIME/./}"; }

# elapsed START_US prints seconds since START_US with one decimal.
elapsed() {
	local d=$(($(now_us) - $1))
	printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000))
}

# oneline squeezes a command's output into one short line for a message.
oneline() { tr -s '\n\t ' '   ' | sed 's/^ //; s/ $//' | cut -c1-300; }

need_command() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found (set ${2:-PATH} to override)"
}

check_common_settings() {
	[[ $READY_TIMEOUT =~ ^[0-9]+$ ]] || die "READY_TIMEOUT must be whole seconds, got '$READY_TIMEOUT'"
	[[ $READY_INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "READY_INTERVAL must be seconds, got '$READY_INTERVAL'"
	need_command "${systemctl_cmd[0]}" SYSTEMCTL
	need_command "${ready_cmd[0]}" READY_CHECK
	need_command "$FLOCK" FLOCK
	[[ -d $BASE ]] || die "base directory $BASE does not exist (MARKETINGBOT_BASE)"
}

# take_lock refuses to run beside another deploy or rollback. The lock is
# released when the process exits, however it exits.
take_lock() {
	exec {lock_fd}>>"$LOCK_FILE" || die "cannot open lock file $LOCK_FILE"
	if ! "$FLOCK" -n "$lock_fd"; then
		die "another deploy or rollback is running (lock $LOCK_FILE is held); wait for it to finish and try again"
	fi
}

is_release_name() { [[ $1 =~ ^[0-9]{8}_[0-9]{6}_[A-Za-z0-9]+$ ]]; }

# list_releases prints release names, oldest first.
list_releases() {
	local dir name
	for dir in "$RELEASES"/*/; do
		[[ -d $dir ]] || continue
		name=$(basename "$dir")
		is_release_name "$name" && printf '%s\n' "$name"
	done
	return 0
}

# current_release prints the name current points at, or nothing.
current_release() {
	local target
	target=$(readlink "$CURRENT" 2>/dev/null) || return 0
	printf '%s' "$(basename "$target")"
}

is_failed() { [[ -e $RELEASES/$1/FAILED ]]; }

# previous_release NAME prints the newest release before NAME that did not fail.
previous_release() {
	local name prev=""
	while IFS= read -r name; do
		[[ $name < "$1" ]] || break
		is_failed "$name" || prev=$name
	done < <(list_releases)
	printf '%s' "$prev"
}

check_release_binaries() {
	local role
	for role in "${ROLES[@]}"; do
		[[ -x $1/bin/$role ]] || die "$1/bin/$role is missing or not executable"
	done
}

# switch_to NAME points current at releases/NAME atomically: the new link is
# made under a temporary name and renamed over current (rename(2) is atomic),
# so a role starting at any moment sees either the old or the new release.
switch_to() {
	local tmp="$BASE/.current.tmp.$$"
	ln -sfn "releases/$1" "$tmp" || die "cannot create link $tmp"
	mv -T "$tmp" "$CURRENT" || {
		rm -f "$tmp"
		die "cannot switch $CURRENT to releases/$1"
	}
	say "current -> releases/$1"
}

# worker_instances prints the worker instances to restart: WORKERS if set
# (space-separated, e.g. "01 02 03"), otherwise every marketingbot-worker@
# unit systemd knows that is not inactive (running, starting or failed: a
# worker that crashed on the old release gets the new one too).
worker_instances() {
	if [[ -n ${WORKERS:-} ]]; then
		local ids
		read -r -a ids <<<"$WORKERS"
		printf '%s\n' "${ids[@]}"
		return 0
	fi
	local out
	out=$("${systemctl_cmd[@]}" list-units --all --plain --no-legend --type=service "$UNIT_PREFIX-worker@*.service") ||
		die "cannot list worker units ($SYSTEMCTL list-units)"
	awk '$3 != "inactive" { u = $1; sub(/^.*@/, "", u); sub(/\.service$/, "", u); print u }' <<<"$out"
}

unit_of() { # role [instance]
	if [[ $1 == worker ]]; then
		printf '%s-worker@%s.service' "$UNIT_PREFIX" "$2"
	else
		printf '%s-%s.service' "$UNIT_PREFIX" "$1"
	fi
}

ready_url_of() { # role [instance]
	case $1 in
	bot) printf '%s' "$READY_URL_BOT" ;;
	poller) printf '%s' "$READY_URL_POLLER" ;;
	worker) printf '%s' "${READY_URL_WORKER//%i/$2}" ;;
	esac
}

# wait_ready NAME URL polls URL until READY_CHECK succeeds or READY_TIMEOUT
# passes. On timeout it sets not_ready_detail to the last answer.
wait_ready() {
	local name=$1 url=$2 start out
	start=$(now_us)
	while :; do
		if out=$("${ready_cmd[@]}" "$url" 2>&1); then
			say "$name ready ($(elapsed "$start") s)"
			return 0
		fi
		if (($(now_us) - start >= READY_TIMEOUT * 1000000)); then
			not_ready_detail="$name not ready after ${READY_TIMEOUT}s at $url: $(oneline <<<"$out")"
			return 1
		fi
		sleep "$READY_INTERVAL"
	done
}

# restart_all restarts every role in one systemctl call (systemd runs the jobs
# together; the bot is stopped before it starts, so two bots never poll at
# once) and waits until each is ready. Used by rollbacks, where speed matters
# more than keeping worker capacity during the switch.
restart_all() {
	local units=() names=() urls=() w i
	for w in "${workers[@]}"; do
		units+=("$(unit_of worker "$w")") names+=("worker@$w") urls+=("$(ready_url_of worker "$w")")
	done
	units+=("$(unit_of poller)" "$(unit_of bot)")
	names+=(poller bot)
	urls+=("$(ready_url_of poller)" "$(ready_url_of bot)")
	say "restarting ${units[*]}"
	if ! "${systemctl_cmd[@]}" restart "${units[@]}"; then
		# shellcheck disable=SC2034 # read by the caller
		not_ready_detail="$SYSTEMCTL restart ${units[*]} failed (journalctl -u '$UNIT_PREFIX-*' -n 50)"
		return 1
	fi
	for i in "${!units[@]}"; do
		wait_ready "${names[i]}" "${urls[i]}" || return 1
	done
}

# smoke_test DIR runs every role's --check from DIR/bin with a clean
# environment: the units get theirs from shared/.env alone, and a stray
# MARKETINGBOT_* variable in the operator's shell must not make a broken
# config pass.
smoke_test() {
	local dir=$1 role out status
	for role in "${ROLES[@]}"; do
		status=0
		out=$(timeout "$SMOKE_TIMEOUT" env -i PATH="$PATH" HOME="${HOME:-/}" LANG=C.UTF-8 \
			"$dir/bin/$role" --check --config "$CONFIG" 2>&1) || status=$?
		printf '    %s\n' "${out:-(no output)}"
		if ((status != 0)); then
			((status == 124)) && out="no verdict within ${SMOKE_TIMEOUT}s"
			# shellcheck disable=SC2034 # read by the caller
			smoke_failure="$role --check exited $status: $(oneline <<<"$out")"
			return 1
		fi
	done
}
