#!/usr/bin/env bash
# Runs every qopt test: installs missing packages, builds, then runs the unit
# tests (GoogleTest) and the lit suite through ctest. Fails if any test fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${QOPT_BUILD_DIR:-$root/build}
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
