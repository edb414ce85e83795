#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for tensorferry: system packages, the C++ build, and (with
# --python) the venv of real frameworks the interop tests compare against. Idempotent: a second
# run only rebuilds what changed.
#
#   scripts/setup.sh            apt packages + build
#   scripts/setup.sh --python   the same, plus the Python oracle venv
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want_python=0
for arg in "$@"; do
  case "$arg" in
    --python) want_python=1 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

apt_packages=(
  build-essential cmake ninja-build pkg-config
  libhdf5-dev libprotobuf-dev protobuf-compiler zlib1g-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas-dev
  clang clang-format clang-tidy libclang-rt-14-dev
  time ccache
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir="$root/build"
# ccache (its cache lives outside the clone) makes the second generator's build in scripts/test.sh
# and rebuilds in a fresh clone cheap; paths under the clone are hashed relative to it.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1  # the build folder is not part of the hash
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$build_dir" -j "$(nproc)"

if ((want_python)); then
  "$root/scripts/python-env.sh"
fi
