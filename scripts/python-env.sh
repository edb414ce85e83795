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

# Stage 2, marked on its own: llama.cpp as the GGUF oracle. llama-cpp-python is built from its
# source distribution (13 minutes on 2 cores), whose vendor/llama.cpp also carries llama.cpp's
# converter convert_hf_to_gguf.py and its gguf-py package; the extracted sdist stays in the cache
# (tests run the converter from it and import gguf-py from it, exported by scripts/test.sh as
# TENSORFERRY_LLAMA_CPP). The wheel is cached next to it, keyed by the pin, so a new venv reinstalls
# it without compiling again. This stage only adds packages to the venv.
llama_version=0.3.16
llama_cache="$cache/llama-cpp-python-$llama_version"
if [[ ! -f "$venv/.llama-cpp-$llama_version" ]]; then
  echo "python-env: llama-cpp-python $llama_version (the GGUF oracle)" >&2
  pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
  sdist="$llama_cache/llama_cpp_python-$llama_version.tar.gz"
  if [[ ! -f "$llama_cache/.complete" ]]; then
    rm -rf "$llama_cache"
    mkdir -p "$llama_cache/src" "$llama_cache/wheel"
    "${pip[@]}" download --no-deps --no-binary llama-cpp-python -d "$llama_cache" \
      "llama-cpp-python==$llama_version" >&2
    tar xzf "$sdist" -C "$llama_cache/src"
    CMAKE_BUILD_PARALLEL_LEVEL=2 nice -n 10 "${pip[@]}" wheel --no-deps -w "$llama_cache/wheel" \
      "$sdist" >&2
    touch "$llama_cache/.complete"
  fi
  "${pip[@]}" install -c "$con" "$llama_cache"/wheel/llama_cpp_python-*.whl >&2
  # convert_hf_to_gguf.py imports mistral_common at the top; sentencepiece serves SPM vocabularies.
  "${pip[@]}" install -c "$con" "mistral-common==1.8.5" "sentencepiece==0.2.0" >&2
  PYTHONPATH="$llama_cache/src/llama_cpp_python-$llama_version/vendor/llama.cpp/gguf-py" \
    "$venv/bin/python" - >&2 <<'PY'
import llama_cpp, gguf, mistral_common
print("python-env: llama_cpp", llama_cpp.__version__, "gguf-py", gguf.__file__)
PY
  # Where the converter and gguf-py are, for scripts/test.sh (TENSORFERRY_LLAMA_CPP).
  echo "$llama_cache/src/llama_cpp_python-$llama_version/vendor/llama.cpp" >"$venv/.llama-cpp-src"
  touch "$venv/.llama-cpp-$llama_version"
fi
echo "$venv"
