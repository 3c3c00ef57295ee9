#!/usr/bin/env bash
# Installs the package a CMake build made (BUILD_DIR) into a fresh prefix, then uses it as a
# user's project would: a separate CMake project with find_package(shm CONFIG) linking shm::shm
# and shm::shared, and a C program built with `pkg-config --cflags --libs shm`. Each program
# publishes and reads a value, and must say so.
set -euo pipefail
build=${1:?usage: cpp-install-test.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)/shm-c/tests/cpp/consumer
work=$(mktemp -d)
topics=$(mktemp -d /dev/shm/shm-install-test-XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work" "$topics"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/shm/shm.hpp"

cmake -S "$src" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
for exe in consumer consumer_shared; do
  out=$("$work/consumer/$exe" "$topics")
  [[ $out == "consumer ok "* ]] || { echo "$exe printed: $out" >&2; exit 1; }
done
echo "find_package(shm CONFIG): shm::shm and shm::shared link and run"

libdir=$(dirname "$(find "$work/prefix" -name shm.pc -path '*pkgconfig*')")
export PKG_CONFIG_PATH="$libdir"
cc -std=c11 -Wall -Wextra -Werror "$src/consumer.c" $(pkg-config --cflags --libs shm) -o "$work/pkgconfig_consumer"
out=$(LD_LIBRARY_PATH="$(pkg-config --variable=libdir shm)" "$work/pkgconfig_consumer")
[[ $out == "pkg-config ok" ]] || { echo "the pkg-config program printed: $out" >&2; exit 1; }
echo "pkg-config shm: compiles, links and runs"
