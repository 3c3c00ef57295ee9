#!/usr/bin/env bash
# Builds a wheel for every CPython the package claims (3.9+) that this machine has (pyenv's, and
# python3), installs each wheel into a fresh environment of its interpreter, from the wheel alone
# (no Rust needed there), and runs the whole pytest suite. Fails if any version fails, or if no
# interpreter of 3.9+ is found. PYTHONS="..." overrides the list.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$(pwd)/target}
maturin=${MATURIN:-$(pwd)/.venv/bin/maturin}
if [ -z "${PYTHONS:-}" ]; then
  PYTHONS=$(ls -d "$HOME"/.pyenv/versions/3.*/bin/python3 2>/dev/null || true)
  PYTHONS="$PYTHONS $(command -v python3 || true)"
fi
claimed=()
declare -A seen
for py in $PYTHONS; do
  version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
  if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' && [ -z "${seen[$version]:-}" ]; then
    seen[$version]=1
    claimed+=("$py")
  fi
done
[ ${#claimed[@]} -gt 0 ] || { echo "no CPython 3.9+ found" >&2; exit 1; }
wheels="$target/wheels-tested"
rm -rf "$wheels"
interpreters=()
for py in "${claimed[@]}"; do interpreters+=(-i "$py"); done
(cd python && "$maturin" build --release --locked -o "$wheels" "${interpreters[@]}")
summary=()
failed=0
for py in "${claimed[@]}"; do
  version=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
  env="$target/pythons/$version"
  rm -rf "$env"
  "$py" -m venv "$env"
  "$env/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
  "$env/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --find-links "$wheels" shm-pub-sub
  echo "== Python $version"
  if (cd python && SHM_EXAMPLES_DIR="$target/debug/examples" SHM_BRIDGE="$target/debug/shm-bridge" "$env/bin/python" -m pytest -q -p no:cacheprovider); then
    summary+=("| $version | passed |")
  else
    summary+=("| $version | FAILED |")
    failed=1
  fi
done
echo
echo "| Python | pytest |"
echo "|---|---|"
printf '%s\n' "${summary[@]}"
exit $failed
