#!/usr/bin/env bash
# repeat.sh N LOAD command...: runs the command N times in a row and counts failures; with
# LOAD > 0, that many CPU hogs run in the background meanwhile (on a 2-core machine, 2 hogs
# leave every test process competing for a core). Logs of failed runs go to target/repeat/.
set -uo pipefail
n=$1 load=$2
shift 2
cd "$(dirname "$0")/.."
mkdir -p target/repeat
hogs=()
for _ in $(seq 1 "$load"); do
  (trap 'exit 0' TERM; while :; do :; done) &
  hogs+=($!)
done
cleanup() { for h in "${hogs[@]}"; do kill "$h" 2>/dev/null; done; }
trap cleanup EXIT
failed=0
start=$(date +%s)
for i in $(seq 1 "$n"); do
  if "$@" >"target/repeat/run.log" 2>&1; then
    printf '.'
  else
    failed=$((failed + 1))
    cp target/repeat/run.log "target/repeat/failed-$i.log"
    printf 'F'
  fi
done
echo
echo "repeat: $n runs of '$*' with $load CPU hog(s): $failed failed ($(( $(date +%s) - start )) s)"
[ "$failed" -eq 0 ]
