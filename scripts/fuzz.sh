#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan), seeds them with small real files made by
# the real libraries, and runs each for SECONDS (default 30). Prints executions per target; exits
# non-zero when a target finds a crash (the reproducer is left in build-fuzz/crashes/<target>/).
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-30}
bash scripts/setup.sh >/dev/null
venv=$(bash scripts/python-env.sh | tail -1)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTENSORFERRY_FUZZ=ON \
  -DTENSORFERRY_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)"
seeds=build-fuzz/seeds
[[ -d $seeds ]] || "$venv/bin/python" fuzz/make_seeds.py "$seeds"
status=0
for fuzzer in build-fuzz/*_fuzzer; do
  name=$(basename "$fuzzer")
  corpus=build-fuzz/corpus/$name
  crashes=build-fuzz/crashes/$name
  mkdir -p "$corpus" "$crashes" "$seeds/$name"
  log=build-fuzz/$name.log
  if "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$crashes/" "$corpus" "$seeds/$name" >"$log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    echo "fuzz $name: ok, $runs executions in ${seconds}s"
  else
    echo "fuzz $name: FAILED (see $log, reproducer in $crashes)"
    tail -30 "$log"
    status=1
  fi
done
exit $status
