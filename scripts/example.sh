#!/usr/bin/env bash
# The main job on the bundled example: sets up and builds (no Python needed), then converts the
# tiny Hugging Face PyTorch GPT-2 in examples/gpt2-tiny into an OpenAI TF1 checkpoint folder,
# checks it with the built-in reference forward pass, and shows what was written.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
out="$root/example-output"
set -x
build/tensorferry inspect examples/gpt2-tiny
build/tensorferry convert examples/gpt2-tiny "$out/gpt2-openai" --to openai-tf1 --force
build/tensorferry inspect "$out/gpt2-openai"
build/tensorferry verify examples/gpt2-tiny "$out/gpt2-openai"
