#!/usr/bin/env bash
# Builds the sanitized clang tree (build-asan: ASan + UBSan everywhere, libFuzzer coverage, the
# fuzz targets next to a sanitized tensorferry and tensorferry_tests), seeds each target with small
# real files made by the real libraries (fuzz/make_seeds.py), replays every committed regression
# input (fuzz/regressions/<target>/), then runs each target for SECONDS (default 30), one at a time.
# Prints one line per target; exits non-zero when a replay or a run fails (the reproducer is left
# in build-asan/fuzz-crashes/<target>/).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     replay + fuzz (all targets by default)
#   scripts/fuzz.sh --build-only              only build build-asan
#   scripts/fuzz.sh --replay-only [TARGET...] only replay the regression inputs
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=build-asan
mode=fuzz
case ${1:-} in
  --build-only) mode=build; shift ;;
  --replay-only) mode=replay; shift ;;
esac
seconds=30
[[ $mode == fuzz && ${1:-} =~ ^[0-9]+$ ]] && { seconds=$1; shift; }

# Configure/build quietly; the log is shown when it fails.
mkdir -p "$build"
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1  # ccache (outside the clone): an unchanged file is not rebuilt
if ! { CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DTENSORFERRY_FUZZ=ON \
         -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
         -DTENSORFERRY_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build "$build" -j "$(nproc)"; } >"$build/build.log" 2>&1; then
  tail -40 "$build/build.log"
  echo "fuzz: build of $build FAILED (log: $build/build.log)"
  exit 1
fi
[[ $mode == build ]] && exit 0

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in fuzz/*_fuzzer.cc; do targets+=("$(basename "$f" .cc)"); done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

seeds=$build/fuzz-seeds
if [[ $mode == fuzz && ! -f $seeds/.done ]]; then
  venv=$(bash scripts/python-env.sh | tail -1)
  rm -rf "$seeds"
  if ! HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 \
      "$venv/bin/python" fuzz/make_seeds.py "$seeds" >"$build/fuzz-seeds.log" 2>&1; then
    tail -30 "$build/fuzz-seeds.log"
    echo "fuzz: making the seed corpora FAILED"
    exit 1
  fi
  touch "$seeds/.done"
fi

status=0
for name in "${targets[@]}"; do
  fuzzer=$build/$name
  [[ -x $fuzzer ]] || { echo "fuzz $name: FAILED (no such target $fuzzer)"; status=1; continue; }
  log=$build/$name.log
  # Regression inputs: every crash ever found, run once each (a file argument is executed, not
  # fuzzed).
  regressions=(fuzz/regressions/"$name"/*)
  if [[ -e ${regressions[0]} ]]; then
    if "$fuzzer" -runs=1 "${regressions[@]}" >"$log" 2>&1; then
      echo "fuzz $name: replayed ${#regressions[@]} regression inputs, ok"
    else
      echo "fuzz $name: regression replay FAILED"
      tail -40 "$log"
      status=1
      continue
    fi
  fi
  [[ $mode == replay ]] && continue
  corpus=$build/fuzz-corpus/$name
  crashes=$build/fuzz-crashes/$name
  mkdir -p "$corpus" "$crashes" "$seeds/$name"
  start=$(date +%s)
  if "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$crashes/" "$corpus" "$seeds/$name" >"$log" 2>&1; then
    runs=$(grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
    units=$(find "$corpus" -type f | wc -l)
    echo "fuzz $name: ok, ${runs:-?} executions in $(($(date +%s) - start))s, corpus $units files"
  else
    echo "fuzz $name: FAILED (log $log, reproducer in $crashes)"
    grep -a -A30 -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log" ||
      tail -40 "$log"
    status=1
  fi
done
exit $status
