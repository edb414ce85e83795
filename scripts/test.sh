#!/usr/bin/env bash
# Sets up everything (apt packages, build, Python oracle venv) and runs every test: the C++ unit
# tests, then the interop tests against the real frameworks. TensorFlow and PyTorch never share a
# process: tests/python/torch and tests/python/tf run in separate pytest processes, and tests in
# tests/python/cross drive both through subprocesses.
#
# Then the Python package: its wheel built, repaired and installed into a fresh venv, and
# tests/package run against it (scripts/python-package.sh).
#
# Then the same tests again against a second, clang build with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan, made by scripts/fuzz.sh; any sanitizer report aborts the
# process, so the test that ran it fails), and a short run of every fuzz target plus the replay of
# every committed crash input.
#
#   scripts/test.sh              everything
#   scripts/test.sh --no-asan    only the regular build (no sanitizer build, no fuzzing)
#   scripts/test.sh --asan-only  only the sanitized build: its C++ tests, Python suites, fuzz smoke
# FUZZ_SECONDS (default 15) is the smoke time per fuzz target.
set -uo pipefail
run_plain=1
run_asan=1
for arg in "$@"; do
  case $arg in
    --no-asan) run_asan=0 ;;
    --asan-only) run_plain=0 ;;
    *) echo "test.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh || { echo "test.sh: setup failed" >&2; exit 1; }
venv=$(bash scripts/python-env.sh | tail -1) || { echo "test.sh: python env failed" >&2; exit 1; }
export TENSORFERRY_BIN="$root/build/tensorferry"
export TENSORFERRY_VENV="$venv"
# llama.cpp's converter and gguf-py (the GGUF oracles), from the sdist python-env.sh keeps; the
# GGUF tests fail loudly when this is empty or wrong.
TENSORFERRY_LLAMA_CPP=$(cat "$venv/.llama-cpp-src" 2>/dev/null || true)
export TENSORFERRY_LLAMA_CPP
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 TOKENIZERS_PARALLELISM=false
export CUDA_VISIBLE_DEVICES=""

status=0
passed=0
failed=0
count() {  # adds "N passed" / "N failed" from a log to the totals
  local p f
  p=$(grep -Eo '[0-9]+ passed' "$1" | tail -1 | grep -Eo '[0-9]+' || true)
  f=$(grep -Eo '[0-9]+ (failed|error|errors)' "$1" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

log=$(mktemp)
timing=()
run_cpp() {  # BUILD_DIR: ctest
  local start=$SECONDS rc cpp_total cpp_fail
  ctest --test-dir "$1" --output-on-failure -j "$(nproc)" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  # "100% tests passed out of N" (CMake 4) or "..., 0 tests failed out of N" (CMake 3);
  # "X% tests passed, F tests failed out of N".
  cpp_total=$(grep -Eo 'tests? (passed|failed) out of [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
  cpp_fail=$(grep -Eo '[0-9]+ tests? failed out of' "$log" | tail -1 | grep -Eo '^[0-9]+')
  cpp_fail=${cpp_fail:-0}
  passed=$((passed + ${cpp_total:-0} - cpp_fail)); failed=$((failed + cpp_fail))
  # No summary line at all (ctest could not run) is a failure too.
  if [[ $rc -ne 0 || -z $cpp_total ]]; then
    status=1
    ((cpp_fail == 0)) && failed=$((failed + 1))
  fi
  timing+=("ctest $1: $((SECONDS - start))s")
}

run_python_suites() {  # LABEL, extra pytest args...
  local label=$1 suite rc start
  shift
  for suite in torch tf cross; do
    [[ -d tests/python/$suite ]] || continue
    start=$SECONDS
    # transformers imports every framework it finds unless told not to.
    case $suite in
      torch) framework_env=(USE_TF=0) ;;
      tf) framework_env=(USE_TORCH=0 TF_USE_LEGACY_KERAS=1) ;;
      *) framework_env=() ;;
    esac
    env "${framework_env[@]}" "$venv/bin/python" -m pytest "tests/python/$suite" -q \
      -p no:cacheprovider "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    count "$log"
    # 5 = no tests collected: a suite folder without tests is a mistake, not a pass.
    [[ $rc -ne 0 ]] && status=1
    timing+=("pytest $suite ($label): $((SECONDS - start))s")
  done
}

# The build most people type: `cmake -S . -B build && cmake --build build` uses the default
# (Makefiles) generator, which once failed where Ninja did not. ccache makes it cheap.
build_with_default_generator() {
  local start=$SECONDS
  mkdir -p build-make
  if CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 cmake -S . -B build-make -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
       -DCMAKE_C_COMPILER_LAUNCHER=ccache >build-make/build.log 2>&1 &&
     CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 cmake --build build-make -j "$(nproc)" >>build-make/build.log 2>&1; then
    echo "default-generator build: ok"
    passed=$((passed + 1))
  else
    tail -30 build-make/build.log
    echo "default-generator build: FAILED (log: build-make/build.log)"
    failed=$((failed + 1)); status=1
  fi
  timing+=("default-generator (Makefiles) build: $((SECONDS - start))s")
}

# The Python package (issue 15): the wheel built, repaired by auditwheel and installed into a
# fresh venv of its own (scripts/python-package.sh, pins and cache separate from the oracle venv),
# then tests/package run with that venv's Python against the installed wheel.
run_python_package() {
  local start=$SECONDS package_venv rc
  if package_venv=$(bash scripts/python-package.sh | tail -1) && [[ -x $package_venv/bin/python ]]; then
    timing+=("python package (wheel, auditwheel repair, fresh venv): $((SECONDS - start))s")
    start=$SECONDS
    "$package_venv/bin/python" -m pytest tests/package -q -p no:cacheprovider 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    count "$log"
    [[ $rc -ne 0 ]] && status=1
    timing+=("pytest package (the installed wheel): $((SECONDS - start))s")
  else
    echo "test.sh: building or installing the Python package failed"
    status=1
    failed=$((failed + 1))
    timing+=("python package: FAILED after $((SECONDS - start))s")
  fi
}

if ((run_plain)); then
  build_with_default_generator
  run_cpp build
  run_python_suites plain
  run_python_package
fi

if ((run_asan)); then
  start=$SECONDS
  if bash scripts/fuzz.sh --build-only; then
    timing+=("build-asan (clang, ASan + UBSan + fuzz targets): $((SECONDS - start))s")
    # Every sanitizer report aborts (UBSan is built with -fno-sanitize-recover=all), so a finding
    # shows up as a failed test, never as a line in a log nobody reads.
    export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
    export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
    run_cpp build-asan
    TENSORFERRY_BIN="$root/build-asan/tensorferry" TENSORFERRY_TEST_SANITIZED=1 \
      run_python_suites asan -n 2
    start=$SECONDS
    bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # One result per target run and per target replay.
    p=$(grep -cE '^fuzz .*: (ok|replayed .* ok)' "$log" || true)
    f=$(grep -cE '^fuzz .*FAILED' "$log" || true)
    passed=$((passed + p)); failed=$((failed + f))
    [[ $rc -ne 0 ]] && { status=1; ((f == 0)) && failed=$((failed + 1)); }
    timing+=("fuzz smoke + replay: $((SECONDS - start))s")
    unset ASAN_OPTIONS UBSAN_OPTIONS
  else
    echo "test.sh: the sanitizer build failed"
    status=1
    failed=$((failed + 1))
  fi
fi
rm -f "$log"
echo
printf '%s\n' "${timing[@]}"
echo "all suites: $passed passed, $failed failed"
exit $status
