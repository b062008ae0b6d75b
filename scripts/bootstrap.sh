#!/usr/bin/env bash
# A new user's first command: install what is needed, build, run the demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
"$root/scripts/demo.sh"
