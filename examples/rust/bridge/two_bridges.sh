#!/usr/bin/env bash
# Two machines on one: a topic directory for "the robot" and one for "the laptop", a bridge on
# each, connected over loopback TCP. The Rust pose publisher writes in the robot's directory;
# the Rust pose subscriber reads the same topic in the laptop's, through the bridges. On two
# real machines, run the same two bridge commands there (--listen on the robot's address).
#
#   cargo build -p shm-examples --examples && cargo build -p shm-bridge
#   examples/rust/bridge/two_bridges.sh            # PORT=7447 by default
set -euo pipefail
cd "$(dirname "$0")/../../.."
target=${CARGO_TARGET_DIR:-target}
examples=$target/debug/examples
bridge=${SHM_BRIDGE:-$target/debug/shm-bridge}
port=${PORT:-7447}

robot=$(mktemp -d /dev/shm/shm-robot.XXXXXX)
laptop=$(mktemp -d /dev/shm/shm-laptop.XXXXXX)
logs=$(mktemp -d)
pids=
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$robot" "$laptop" "$logs"
}
trap cleanup EXIT

# Starts a bridge, its output in $logs/$1, and waits until it is ready (exit 75 if it died
# first: the port was taken).
start_bridge() {
  local name=$1
  shift
  "$bridge" "$@" > "$logs/$name" 2>&1 &
  local pid=$!
  pids="$pids $pid"
  for _ in $(seq 200); do
    grep -q "shm-bridge: ready" "$logs/$name" && { sed "s/^/[$name] /" "$logs/$name"; return; }
    kill -0 "$pid" 2>/dev/null || { sed "s/^/[$name] /" "$logs/$name" >&2; exit 75; }
    sleep 0.05
  done
  echo "$name bridge not ready after 10 s" >&2
  exit 1
}

echo "== robot: a bridge that exports robot/** and listens on tcp/127.0.0.1:$port"
start_bridge robot --root "$robot" --listen "tcp/127.0.0.1:$port" --export 'robot/**'
echo "== laptop: a bridge that connects to it and imports robot/**"
start_bridge laptop --root "$laptop" --connect "tcp/127.0.0.1:$port" --import 'robot/**'
echo "== robot: the pose publisher, 20 Hz"
SHM_ROOT=$robot "$examples/pose_publisher" --topic robot/pose --rate 20 --count 600 > /dev/null &
pids="$pids $!"
echo "== laptop: the pose subscriber reads the robot's poses"
SHM_ROOT=$laptop "$examples/pose_subscriber" --topic robot/pose --count 5 --timeout 20 | sed -u 's/^/[laptop] /'
echo "== done: poses crossed from the robot's topic directory to the laptop's"
