#!/usr/bin/env bash
# Issue 9's proof that CI does not fail at random: RUNS (default 5) runs in a row of `.ci/run`,
# each on a fresh `git clone` of this checkout's HEAD, while another process keeps one core busy.
# Prints each run's result and duration; exits 0 only when every run is green.
set -uo pipefail

runs=${RUNS:-5}
source_repo=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$source_repo" rev-parse HEAD)
logs=$(mktemp -d "${TMPDIR:-/tmp}/story-tasks-stress.XXXXXX")
clone="$logs/clone"

# The load: one core spinning for as long as the runs take; stopped by its PID on any exit.
node -e 'for(;;){}' &
busy=$!
trap 'kill "$busy" 2>/dev/null; rm -rf "$clone"' EXIT

echo "stress: $runs clean-clone runs of .ci/run at ${commit:0:12}, one core kept busy (pid $busy); logs in $logs"
green=0
for run in $(seq 1 "$runs"); do
  rm -rf "$clone"
  git clone --quiet --no-checkout "$source_repo" "$clone" && git -C "$clone" checkout --quiet --detach "$commit" || exit 2
  log="$logs/run-$run.log"
  started=$SECONDS
  if (cd "$clone" && CI=true bash .ci/run) >"$log" 2>&1; then
    result=green
    green=$((green + 1))
  else
    result="FAILED ($(grep -cE '^ *(FAIL|×)' "$log") failing lines, see $log)"
  fi
  echo "run $run/$runs: $result in $((SECONDS - started)) s"
  grep -E '^ *FAIL ' "$log" | sed 's/^/    /' | sort -u
done
echo "stress: $green of $runs green"
[ "$green" -eq "$runs" ]
