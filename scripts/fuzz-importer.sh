#!/usr/bin/env bash
# Fuzzes the ONNX importer with libFuzzer + ASan for $1 seconds (default 600),
# starting from a corpus of the repository's test models and the ONNX backend
# node tests. Builds into build-fuzz/. Exits non-zero on a crash.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
build=$root/build-fuzz
# libFuzzer and ASan come with clang's runtime libraries.
if [ ! -e /usr/lib/llvm-22/lib/clang/22/lib/x86_64-pc-linux-gnu/libclang_rt.fuzzer.a ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libclang-rt-22-dev
  else
    echo "fuzz-importer: needs libFuzzer: sudo apt-get install libclang-rt-22-dev" >&2
    exit 1
  fi
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DQOPT_BUILD_FUZZER=ON
fi
cmake --build "$build" --target qopt-onnx-fuzz
corpus=$build/fuzz-corpus
mkdir -p "$corpus"
find "$root/test" -name '*.onnx' -size -64k -exec cp -n {} "$corpus/" \; 2>/dev/null || true
i=0
for m in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
  cp -n "$m" "$corpus/backend_$i.onnx"; i=$((i + 1))
done
mkdir -p "$build/fuzz-artifacts"
exec "$build/tools/qopt-onnx-fuzz/qopt-onnx-fuzz" -max_total_time="$seconds" \
  -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
  -artifact_prefix="$build/fuzz-artifacts/" "$corpus"
