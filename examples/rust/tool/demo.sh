#!/usr/bin/env bash
# Two processes exchanging a derived struct: the subscriber starts first and waits, the
# publisher then publishes a robot pose at 10 Hz; meanwhile the `shm` tool looks at the topic
# from a third process. Run with `make demo`.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bin=${CARGO_TARGET_DIR:-target}/debug/examples
shm=${CARGO_TARGET_DIR:-target}/debug/shm

# A private topic directory, so the demo never meets other topics and leaves nothing behind.
root=$(mktemp -d /dev/shm/shm-demo.XXXXXX)
export SHM_ROOT=$root
sub= pub=
cleanup() {
  for p in $sub $pub; do kill "$p" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT

echo "== subscriber (process 1) starts first and waits for poses"
"$bin/pose_subscriber" --count 20 --timeout 15 > >(sed -u 's/^/[subscriber] /') &
sub=$!
sleep 0.5
echo "== publisher (process 2) publishes a Pose at 10 Hz"
"$bin/pose_publisher" --rate 10 --count 40 > >(sed -u 's/^/[publisher]  /') &
pub=$!
sleep 0.5
echo "== the shm tool (process 3) looks at the topic: list, echo, hz"
"$shm" list | sed 's/^/[shm list]   /'
"$shm" echo demo/robot/pose -n 2 --field position | sed 's/^/[shm echo]   /'
"$shm" hz demo/robot/pose -n 1 | sed 's/^/[shm hz]     /'
wait "$sub"   # fails the demo if the subscriber did not get its 20 poses
wait "$pub"
sub= pub=
echo "== done: 20 poses crossed from one process to the other through $root"
