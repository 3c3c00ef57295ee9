#!/usr/bin/env bash
# The `shm` tool against a running Python publisher: starts structs/pose_talker.py in a private
# topic directory, then shows what `shm echo`, `shm list`, `shm info` and `shm hz` print about
# its topic.
#
#   examples/python/tool/look.sh      (with the package installed: `shm` and `python3` on PATH)
#
# PYTHON and SHM name other commands (PYTHON=.venv/bin/python SHM=.venv/bin/shm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
shm=${SHM:-shm}

# A private topic directory, so the tool sees no other topics and nothing is left behind.
root=$(mktemp -d /dev/shm/shm-look.XXXXXX)
export SHM_ROOT=$root
talker=
cleanup() {
  if [ -n "$talker" ]; then kill "$talker" 2>/dev/null || true; fi
  rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# At most a minute of poses, at 10 Hz, even if this script is killed before its cleanup.
"$python" "$here/../structs/pose_talker.py" --count 600 --rate 10 >/dev/null &
talker=$!

run() {
  echo "\$ shm $*"
  "$shm" "$@"
  echo
}
run echo demo/robot/pose -n 2 --timeout 30   # waits for the topic, then prints 2 values
run list
run info demo/robot/pose
run hz demo/robot/pose -n 1
