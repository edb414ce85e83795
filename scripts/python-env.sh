#!/usr/bin/env bash
# Creates (once per requirements hash) the venv with the real frameworks and prints its path on the
# last line. It lives outside the clone, in ~/.cache/tensorferry, because it takes minutes to build
# and several GB; CI builds it from nothing when it is absent. Any failure here is fatal: the
# interop tests must never run without their oracles.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
req="$root/tests/python/requirements.txt"
con="$root/tests/python/constraints.txt"
key=$(cat "$req" "$con" | sha256sum | cut -c1-12)
cache="${TENSORFERRY_CACHE:-$HOME/.cache/tensorferry}"
venv="$cache/venv-$key"
if [[ ! -f "$venv/.complete" ]]; then
  echo "python-env: building $venv (takes a few minutes)" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
  # The CPU build of torch lies on this kind of machine's disk; any other torch pulls GBs of CUDA.
  links=()
  [[ -d /opt/wheels ]] && links=(--find-links /opt/wheels)
  "${pip[@]}" install --upgrade pip >&2
  "${pip[@]}" install "${links[@]}" -c "$con" -r "$req" >&2
  # transformers sets TF_USE_LEGACY_KERAS=1; tf-keras without --no-deps pulls the full tensorflow wheel.
  "${pip[@]}" install --no-deps -c "$con" "tf-keras~=2.15.0" >&2
  "$venv/bin/python" - >&2 <<'PY'
import torch, tensorflow, transformers, h5py, safetensors, numpy, tf_keras
print("python-env: torch", torch.__version__, "tf", tensorflow.__version__,
      "transformers", transformers.__version__, "numpy", numpy.__version__)
PY
  touch "$venv/.complete"
fi
echo "$venv"
