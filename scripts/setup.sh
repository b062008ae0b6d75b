#!/usr/bin/env bash
# Installs every Debian package qopt needs to build, test and run its demo.
# Idempotent: packages already installed are left alone, and nothing is
# downloaded when all are present. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # Build: LLVM/MLIR 22 from Debian, clang and lld 22, CMake + Ninja.
  cmake ninja-build ccache clang-22 lld-22 llvm-22-dev llvm-22-tools
  libmlir-22-dev mlir-22-tools
  # Tests.
  libgtest-dev
  # ONNX import: ONNX 1.12's C++ library, protobuf, backend node tests.
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  # Calibration files (.npz, deflated members).
  zlib1g-dev
  # The PTX emulator (tools/qopt-cuda-emu) decompresses fatbins with it.
  libzstd1
  # Python tools and tests run on Debian's /usr/bin/python3.
  python3 python3-numpy python3-onnx python3-pytest
  # Spoken wake words ("alexa", "hey jarvis") for the openWakeWord checks.
  espeak-ng
)
# Node.js runs onnxruntime-node, the reference the tests compare against.
# A node already on PATH (e.g. from NodeSource) is used as it is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

root=$(cd "$(dirname "$0")/.." && pwd)

# onnxruntime-node (npm), pinned by tools/ort-runner/package-lock.json. Its
# install script would fetch CUDA binaries from nuget.org: skip them.
install_ort() {
  local dir=$root/tools/ort-runner
  if [ -d "$dir/node_modules/onnxruntime-node" ]; then
    return 0
  fi
  echo "setup: installing onnxruntime-node into tools/ort-runner"
  (cd "$dir" && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm ci --no-audit --no-fund)
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages present"
  install_ort
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "setup: error: these Debian packages are missing and this user cannot install them:" >&2
  echo "  ${missing[*]}" >&2
  echo "setup: run this script as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_ort
echo "setup: done"
