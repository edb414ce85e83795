#!/usr/bin/env bash
# The table of issue 16, as paired runs (bench/paired.sh) of an older and a newer binary against
# `cp` + `sync` of the same bytes, on a GPT-2-XL-shaped (6.2 GB) and a BERT-large-shaped model
# folder made by bench/run_bench.py's generator (random weights).
#
#   BASE=old/tensorferry NEW=build/tensorferry VENV=... bench/issue16.sh GPT2XL_DIR BERTLARGE_DIR
#
# GPT2XL_DIR holds config.json, model.safetensors and pytorch_model.bin; BERTLARGE_DIR config.json
# and model.safetensors. SCRATCH (see paired.sh) must be on the same disk.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
xl=$1 bert=$2
pair() { "$here/paired.sh" "$@"; }
pair st-to-bin "$xl/model.safetensors" "$xl/model.safetensors" -- convert -q "$xl/model.safetensors" OUT.bin
pair bin-to-st "$xl/pytorch_model.bin" "$xl/pytorch_model.bin" -- convert -q "$xl/pytorch_model.bin" OUT.safetensors
pair xl-openai-tf1-no-verify "$xl/model.safetensors" "$xl/model.safetensors" -- convert -q "$xl" OUT --to openai-tf1 --no-verify
pair xl-openai-tf1-verify "$xl/model.safetensors" "$xl/model.safetensors" -- convert -q "$xl" OUT --to openai-tf1
pair bert-google-tf1-no-verify "$bert" "$bert/model.safetensors" -- convert -q "$bert" OUT --to google-tf1 --no-verify
pair bert-google-tf1-verify "$bert" "$bert/model.safetensors" -- convert -q "$bert" OUT --to google-tf1
# The same with one core kept busy by another process ("loaded": CPU-bound paths must not
# collapse when one of the two cores is taken).
yes >/dev/null &
busy=$!
trap 'kill $busy 2>/dev/null || true' EXIT
pair bert-google-tf1-no-verify-one-core-busy "$bert" "$bert/model.safetensors" -- convert -q "$bert" OUT --to google-tf1 --no-verify
pair st-to-bin-one-core-busy "$xl/model.safetensors" "$xl/model.safetensors" -- convert -q "$xl/model.safetensors" OUT.bin
kill $busy

# verify of two GPT-2-XL checkpoints (the folder and its openai-tf1 conversion) against `cp` of
# one of them (6.2 GB), both warm.
scratch=${SCRATCH:-/tmp/tensorferry-paired}
rm -rf "$scratch" && mkdir -p "$scratch"
"$NEW" convert -q "$xl" "$scratch/tf1" --to openai-tf1 --no-verify
for round in 1 2; do
  cat "$xl/model.safetensors" "$scratch"/tf1/* >/dev/null
  /usr/bin/time -f "verify round $round cp %e s" cp "$xl/model.safetensors" "$scratch/copy"
  rm -f "$scratch/copy"
  for who in BASE NEW; do
    /usr/bin/time -f "verify round $round ${who,,} %e s user %U sys %S rss %MkB" \
      "${!who}" verify "$xl" "$scratch/tf1" >/dev/null
  done
done
rm -rf "$scratch"

# inspect of the 6.2 GB .bin: warm, then with a cold page cache (root: drop_caches).
for who in BASE NEW; do
  "${!who}" inspect "$xl/pytorch_model.bin" >/dev/null
  /usr/bin/time -f "inspect ${who,,} warm %e s rss %MkB" "${!who}" inspect "$xl/pytorch_model.bin" >/dev/null
  sync && echo 3 >/proc/sys/vm/drop_caches && "${!who}" --help >/dev/null
  /usr/bin/time -f "inspect ${who,,} cold %e s rss %MkB" "${!who}" inspect "$xl/pytorch_model.bin" >/dev/null
done

# The Python peer: torch.load + safetensors save_file + fsync, against the NEW .bin -> safetensors.
mkdir -p "$scratch"
cat "$xl/pytorch_model.bin" >/dev/null
# run_bench.py's peer, then an fsync of its output (tensorferry fsyncs before it publishes).
/usr/bin/time -f "peer torch.load+save_file+fsync %e s rss %MkB" "$VENV/bin/python" -c '
import os, sys
sys.path.insert(0, sys.argv.pop(1))
from run_bench import PEER_TORCH_TO_SAFETENSORS
exec(PEER_TORCH_TO_SAFETENSORS)
fd = os.open(sys.argv[2], os.O_RDONLY); os.fsync(fd); os.close(fd)
' "$here" "$xl/pytorch_model.bin" "$scratch/peer.safetensors"
rm -rf "$scratch"/* && sync
cat "$xl/pytorch_model.bin" >/dev/null
/usr/bin/time -f "peer-case new .bin->safetensors %e s rss %MkB" "$NEW" convert -q "$xl/pytorch_model.bin" "$scratch/x.safetensors"
rm -rf "$scratch"
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
