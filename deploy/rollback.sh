#!/usr/bin/env bash
# rollback.sh — return MarketingBot to an earlier release in about a second.
#
#   rollback.sh                  back to the release before current (skipping failed ones)
#   rollback.sh --to RELEASE     to RELEASE (a name under releases/, or its path)
#   rollback.sh --smoke          run every role's --check on the target first
#   rollback.sh --list           show the releases and exit
#
# Nothing is built and, unless --smoke is given, nothing is tested before the
# switch: the target already ran in production. current is switched
# atomically, all roles are restarted in one systemctl call (the bot is
# stopped before it starts again), then each role's /readyz is awaited.
# Environment: the same as deploy.sh (MARKETINGBOT_BASE, SYSTEMCTL, WORKERS,
# READY_CHECK, READY_TIMEOUT, READY_URL_*, ...).
set -euo pipefail

script_dir=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$script_dir/lib.sh"

usage() {
	sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

target=""
smoke=0
list_only=0
while (($#)); do
	case $1 in
	--to)
		(($# >= 2)) || usage
		target=$2
		shift 2
		;;
	--to=*)
		target=${1#*=}
		shift
		;;
	--smoke)
		smoke=1
		shift
		;;
	--list)
		list_only=1
		shift
		;;
	-h | --help) usage ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

started=$(now_us)
cur=$(current_release)

if ((list_only)); then
	while IFS= read -r r; do
		mark=""
		[[ $r == "$cur" ]] && mark+=" (current)"
		is_failed "$r" && mark+=" (FAILED: $(oneline <"$RELEASES/$r/FAILED"))"
		printf '%s%s\n' "$r" "$mark"
	done < <(list_releases)
	exit 0
fi

check_common_settings
[[ -n $cur ]] || die "$CURRENT is not set; nothing to roll back from (deploy first)"
take_lock

if [[ -n $target ]]; then
	target=$(basename "$target")
	if ! is_release_name "$target" || [[ ! -d $RELEASES/$target ]]; then
		die "no release $target under $RELEASES (see rollback.sh --list)"
	fi
	is_failed "$target" && warn "$target is marked FAILED: $(oneline <"$RELEASES/$target/FAILED")"
else
	target=$(previous_release "$cur")
	[[ -n $target ]] || die "no release before $cur to roll back to (see rollback.sh --list)"
fi
[[ $target != "$cur" ]] || die "$target is already current"
check_release_binaries "$RELEASES/$target"

workers_out=$(worker_instances) || exit 1
mapfile -t workers <<<"$workers_out"
[[ -n ${workers[0]:-} ]] || workers=()

say "rolling back from $cur to $target (workers: ${workers[*]:-none})"
if ((smoke)); then
	need_command timeout
	say "smoke test: bot, worker, poller --check --config $CONFIG"
	smoke_test "$RELEASES/$target" || die "smoke test of $target failed: $smoke_failure. Nothing changed: current is still $cur"
fi

switch_to "$target"
restart_all || die "rolled back to $target, but it is not ready: $not_ready_detail — check journalctl -u '$UNIT_PREFIX-*'"
say "rolled back to $target in $(elapsed "$started") s (from $cur; deploy.sh or rollback.sh --to $cur to return)"
