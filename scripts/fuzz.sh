#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS each (FUZZ_JOBS workers), from seeds made of
# real topic files, and prints a table of executions per target. Fails on any crash, hang or
# sanitizer report (libFuzzer exits non-zero and leaves the input under fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-1}
targets=${FUZZ_TARGETS:-"header schema names topic_read topic_takeover"}
work=${FUZZ_WORK:-$(pwd)/../target/fuzz}
mkdir -p "$work"
# The targets' topic directories (one per fuzzing process), removed however the run ends.
SHM_FUZZ_SCRATCH=$(mktemp -d /dev/shm/shm-fuzz-run.XXXXXX)
export SHM_FUZZ_SCRATCH
trap 'rm -rf "$SHM_FUZZ_SCRATCH"' EXIT
rm -rf "$work/seeds"
cargo +nightly run --locked --quiet --bin seeds -- "$work/seeds"
summary=()
for t in $targets; do
  mkdir -p "$work/corpus/$t" "$work/logs"
  log="$work/logs/$t.log"
  echo "== fuzz $t: $seconds s, $jobs job(s)"
  if ! cargo +nightly fuzz run "$t" "$work/corpus/$t" "$work/seeds/$t" \
      --jobs "$jobs" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $t FAILED (input saved under fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  # One worker prints its final stats; with several (-fork), the last "#<executions>:" status
  # line counts all of them.
  runs=$(awk '/stat::number_of_executed_units/ {s = $NF}
              /^#[0-9]+:/ {n = substr($1, 2, length($1) - 2)}
              END {print (s + 0 > n + 0) ? s + 0 : n + 0}' "$log")
  summary+=("| $t | $runs | $(ls "$work/corpus/$t" | wc -l) |")
done
echo
echo "| target | executions | corpus |"
echo "|---|---|---|"
printf '%s\n' "${summary[@]}"
