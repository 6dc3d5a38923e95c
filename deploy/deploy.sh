#!/usr/bin/env bash
# deploy.sh — blue-green release of MarketingBot on one server.
#
#   deploy.sh COMMIT_OR_REF                  build the three roles from git and release them
#   deploy.sh --binaries DIR [COMMIT_OR_REF] release prebuilt DIR/{bot,worker,poller}
#
# Steps: take the deploy lock; build (or copy) the binaries into
# releases/YYYYMMDD_HHMMSS_<hash>/bin; link shared/.env, credentials.json and
# config.yaml into the release; smoke test (every role's --check against the
# real config) BEFORE anything changes — a failure stops here, current and the
# running processes stay as they were; switch current atomically; restart the
# workers one at a time, then the poller, the bot last, each followed by a
# wait for its /readyz; if a role is not ready in time, switch back to the
# previous release, restart, and exit non-zero; finally keep the newest
# KEEP_RELEASES releases (never current or the previous one).
#
# Environment (defaults in brackets): MARKETINGBOT_BASE [/home/marketing],
# SHARED_DIR [$BASE/shared], CONFIG_FILE [$SHARED_DIR/config.yaml], REPO [the git checkout
# this script lives in, else $BASE/repo], FETCH [1: git fetch origin first],
# GO [go], GIT [git], GOFLAGS_EXTRA [], SYSTEMCTL [systemctl; the marketing user
# may restart the units through a polkit rule, see README.md, section Operations, or use
# "sudo systemctl"], FLOCK [flock], WORKERS [worker instances systemd does not
# list as inactive, e.g. "01 02 03"],
# READY_CHECK [curl -sS --fail-with-body --max-time 2], READY_TIMEOUT [60],
# READY_INTERVAL [0.5], READY_URL_BOT [http://127.0.0.1:8081/readyz],
# READY_URL_POLLER [http://127.0.0.1:9102/readyz], READY_URL_WORKER
# [http://127.0.0.1:92%i/readyz], SMOKE_TIMEOUT [60], KEEP_RELEASES [5],
# RELEASE_TIMESTAMP [now in UTC, YYYYMMDD_HHMMSS].
set -euo pipefail

script_dir=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$script_dir/lib.sh"

GO=${GO:-go}
GIT=${GIT:-git}
KEEP_RELEASES=${KEEP_RELEASES:-5}
FETCH=${FETCH:-1}
if [[ -z ${REPO:-} ]]; then
	REPO=$("$GIT" -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || printf '%s' "$BASE/repo")
fi

usage() {
	sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

binaries=""
ref=""
while (($#)); do
	case $1 in
	--binaries)
		(($# >= 2)) || usage
		binaries=$2
		shift 2
		;;
	--binaries=*)
		binaries=${1#*=}
		shift
		;;
	-h | --help) usage ;;
	-*) die "unknown option $1 (see --help)" ;;
	*)
		[[ -z $ref ]] || die "one COMMIT_OR_REF only, got '$ref' and '$1'"
		ref=$1
		shift
		;;
	esac
done
[[ -n $ref || -n $binaries ]] || usage
[[ $KEEP_RELEASES =~ ^[1-9][0-9]*$ ]] || die "KEEP_RELEASES must be a positive number, got '$KEEP_RELEASES'"

started=$(now_us)
check_common_settings
need_command timeout
[[ -f $CONFIG ]] || die "config $CONFIG not found (copy configs/config.example.yaml there and edit it; see README.md, section Operations)"
mkdir -p "$RELEASES"
take_lock

# --- what to release -------------------------------------------------------
commit=""
if [[ -n $ref ]]; then
	need_command "$GIT" GIT
	[[ -d $REPO ]] || die "repository $REPO not found (set REPO)"
	if [[ $FETCH == 1 ]] && "$GIT" -C "$REPO" remote get-url origin >/dev/null 2>&1; then
		say "fetching origin in $REPO"
		"$GIT" -C "$REPO" fetch --quiet --tags origin || die "git fetch origin failed in $REPO"
	fi
	# A branch name means the fetched tip, not a stale local branch.
	commit=$("$GIT" -C "$REPO" rev-parse --verify --quiet "refs/remotes/origin/$ref^{commit}" ||
		"$GIT" -C "$REPO" rev-parse --verify --quiet "$ref^{commit}") ||
		die "'$ref' is not a commit, branch or tag in $REPO"
	say "release of $commit ($("$GIT" -C "$REPO" log -1 --format=%s "$commit" | cut -c1-72))"
fi
if [[ -n $binaries ]]; then
	[[ -d $binaries ]] || die "--binaries $binaries is not a directory"
	for role in "${ROLES[@]}"; do
		[[ -f $binaries/$role ]] || die "$binaries/$role not found"
	done
fi

if [[ -n $commit ]]; then
	label=${commit:0:12}
else
	# Prebuilt binaries without a commit: name the release by their content.
	label=$(cat "$binaries/bot" "$binaries/worker" "$binaries/poller" | sha256sum | cut -c1-12) ||
		die "cannot read $binaries/{bot,worker,poller}"
fi

# Names must sort in deploy order. Two deploys within one second (or a clock
# that went back) would break that, so wait for a later second or refuse.
newest=$(list_releases | tail -n 1)
for attempt in 1 2 3; do
	stamp=${RELEASE_TIMESTAMP:-$(date -u +%Y%m%d_%H%M%S)}
	[[ $stamp =~ ^[0-9]{8}_[0-9]{6}$ ]] || die "RELEASE_TIMESTAMP must look like 20260131_235959, got '$stamp'"
	[[ -z $newest || $stamp > ${newest:0:15} ]] && break
	[[ -z ${RELEASE_TIMESTAMP:-} && $attempt -lt 3 ]] || die "release time $stamp is not after the newest release $newest (clock behind?)"
	sleep 1
done
name=${stamp}_$label
old=$(current_release)
if [[ -n $old && ! -d $RELEASES/$old ]]; then
	warn "current points at missing releases/$old; there is nothing to roll back to"
	old=""
fi
workers_out=$(worker_instances) || exit 1
mapfile -t workers <<<"$workers_out"
[[ -n ${workers[0]:-} ]] || workers=()
((${#workers[@]})) || warn "no marketingbot-worker@ instance is running; none restarted (start some: systemctl enable --now $UNIT_PREFIX-worker@01)"

say "deploying $name (current: ${old:-none}; workers: ${workers[*]:-none})"

# --- build into a staging directory --------------------------------------------
# Everything is assembled under a hidden name and renamed into releases/ only
# after the smoke test, so a broken build never shows up as a release.
staging="$RELEASES/.staging-$name"
src=""
cleanup() {
	[[ -n $staging && -d $staging ]] && rm -rf "$staging"
	[[ -n $src && -d $src ]] && rm -rf "$src"
	return 0
}
trap cleanup EXIT
rm -rf "$staging"
mkdir -p "$staging/bin"

if [[ -n $binaries ]]; then
	say "copying prebuilt binaries from $binaries"
	for role in "${ROLES[@]}"; do
		cp "$binaries/$role" "$staging/bin/$role"
		chmod 0755 "$staging/bin/$role"
	done
else
	need_command "$GO" GO
	src=$(mktemp -d "${TMPDIR:-/tmp}/marketingbot-build.XXXXXX")
	say "exporting $label from $REPO"
	"$GIT" -C "$REPO" archive --format=tar "$commit" | tar -x -C "$src" || die "git archive $commit failed"
	say "building bot, worker, poller"
	build_start=$(now_us)
	read -r -a go_flags_extra <<<"${GOFLAGS_EXTRA:-}"
	(cd "$src" && CGO_ENABLED=0 "$GO" build -trimpath "${go_flags_extra[@]}" \
		-o "$staging/bin/" ./cmd/bot ./cmd/worker ./cmd/poller) || die "go build failed; nothing changed"
	say "built in $(elapsed "$build_start") s"
	# The commit's example config and default texts, to compare with shared/.
	if [[ -d $src/configs ]]; then
		cp -R "$src/configs" "$staging/configs"
	fi
fi
check_release_binaries "$staging"

for file in config.yaml .env credentials.json; do
	if [[ -e $SHARED/$file ]]; then
		ln -sfn "$SHARED/$file" "$staging/$file"
	elif [[ $file != config.yaml ]]; then
		warn "$SHARED/$file does not exist; not linked"
	fi
done
{
	printf 'release=%s\n' "$name"
	if [[ -n $commit ]]; then
		printf 'commit=%s\n' "$commit"
	else
		printf 'binaries_sha256=%s\n' "$label"
	fi
	printf 'deployed_at=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf 'deployed_by=%s\n' "$(id -un 2>/dev/null || echo unknown)"
} >"$staging/REVISION"

# --- smoke test before anything changes -----------------------------------------
say "smoke test: bot, worker, poller --check --config $CONFIG"
if ! smoke_test "$staging"; then
	die "smoke test failed: $smoke_failure. Nothing changed: current is still ${old:-unset}, running processes untouched"
fi

mv -T "$staging" "$RELEASES/$name" || die "cannot move $staging to $RELEASES/$name"
staging=""

# --- switch and restart ---------------------------------------------------------
switch_to "$name"

# restart_rolling restarts the workers one at a time, each ready before the
# next goes down (the others keep processing), then the poller, then the bot
# last. The bot is restarted, never started beside the old one: with long
# polling two bots would steal each other's updates.
restart_rolling() {
	local w unit role
	for w in "${workers[@]}"; do
		unit=$(unit_of worker "$w")
		say "restarting $unit"
		"${systemctl_cmd[@]}" restart "$unit" || {
			not_ready_detail="$SYSTEMCTL restart $unit failed (journalctl -u $unit -n 50)"
			return 1
		}
		wait_ready "worker@$w" "$(ready_url_of worker "$w")" || return 1
	done
	for role in poller bot; do
		unit=$(unit_of "$role")
		say "restarting $unit"
		"${systemctl_cmd[@]}" restart "$unit" || {
			not_ready_detail="$SYSTEMCTL restart $unit failed (journalctl -u $unit -n 50)"
			return 1
		}
		wait_ready "$role" "$(ready_url_of "$role")" || return 1
	done
}

if ! restart_rolling; then
	reason=$not_ready_detail
	printf '%s\n' "$reason" >"$RELEASES/$name/FAILED"
	warn "$reason"
	if [[ -z $old ]]; then
		die "deploy of $name failed and there is no previous release to return to; current stays at $name: $reason"
	fi
	say "rolling back to $old"
	switch_to "$old"
	if restart_all; then
		die "deploy of $name failed ($reason); rolled back to $old, which is ready again"
	fi
	die "deploy of $name failed ($reason); rolled back to $old but it is NOT ready either: $not_ready_detail — check journalctl -u '$UNIT_PREFIX-*'"
fi

# --- keep the newest releases -------------------------------------------------------
prune() {
	local all=() keep_also=("$name" "$old") excess r k protected
	mapfile -t all < <(list_releases)
	excess=$((${#all[@]} - KEEP_RELEASES))
	for r in "${all[@]}"; do
		((excess > 0)) || break
		protected=0
		for k in "${keep_also[@]}"; do [[ $r == "$k" ]] && protected=1; done
		((protected)) && continue
		say "pruning releases/$r"
		rm -rf "${RELEASES:?}/$r"
		excess=$((excess - 1))
	done
}
prune

say "deployed $name in $(elapsed "$started") s (previous: ${old:-none}; undo with rollback.sh)"
