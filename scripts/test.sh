#!/usr/bin/env bash
# Sets up everything (apt packages, build, Python oracle venv) and runs every test: the C++ unit
# tests, then the interop tests against the real frameworks. TensorFlow and PyTorch never share a
# process: tests/python/torch and tests/python/tf run in separate pytest processes, and tests in
# tests/python/cross drive both through subprocesses.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh || { echo "test.sh: setup failed" >&2; exit 1; }
venv=$(bash scripts/python-env.sh | tail -1) || { echo "test.sh: python env failed" >&2; exit 1; }
export TENSORFERRY_BIN="$root/build/tensorferry"
export TENSORFERRY_VENV="$venv"
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
ctest --test-dir build --output-on-failure -j "$(nproc)" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
cpp_pass=$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$log" | awk '{print $6-$1}')
cpp_fail=$(grep -Eo '[0-9]+ tests failed out of' "$log" | awk '{print $1}')
passed=$((passed + ${cpp_pass:-0})); failed=$((failed + ${cpp_fail:-0}))
[[ $rc -ne 0 ]] && status=1

for suite in torch tf cross; do
  [[ -d tests/python/$suite ]] || continue
  # transformers imports every framework it finds unless told not to.
  case $suite in
    torch) framework_env=(USE_TF=0) ;;
    tf) framework_env=(USE_TORCH=0 TF_USE_LEGACY_KERAS=1) ;;
    *) framework_env=() ;;
  esac
  env "${framework_env[@]}" "$venv/bin/python" -m pytest "tests/python/$suite" -q \
    -p no:cacheprovider 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  count "$log"
  # 5 = no tests collected: a suite folder without tests is a mistake, not a pass.
  [[ $rc -ne 0 ]] && status=1
done
rm -f "$log"
echo
echo "all suites: $passed passed, $failed failed"
exit $status
