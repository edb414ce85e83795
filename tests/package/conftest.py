"""Tests of the installed Python package (scripts/python-package.sh runs them in a fresh venv
that holds only the repaired wheel, its runtime dependencies, pytest and ray). The frameworks
that own each format are not in that venv: their values come from the oracle venv
(TENSORFERRY_VENV, scripts/python-env.sh) through subprocesses, and the CLI the reports are
compared with is TENSORFERRY_BIN (build/tensorferry). Either missing fails loudly."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GPT2 = ROOT / "examples" / "gpt2-tiny"


def _required_path(variable, what):
    value = os.environ.get(variable)
    if not value or not Path(value).exists():
        raise RuntimeError(f"{variable} must name {what} (scripts/test.sh sets it); got {value!r}")
    return Path(value)


ORACLE_VENV = _required_path("TENSORFERRY_VENV", "the oracle venv with torch, TF, safetensors")
BIN = _required_path("TENSORFERRY_BIN", "the tensorferry binary of the regular build")

_FRAMEWORK_ENV = {
    "torch": {"USE_TF": "0"},
    "tf": {"USE_TORCH": "0", "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"},
}

# Prepended to every oracle script: arrays as JSON-able (dtype, shape, little-endian bytes as hex).
_ORACLE_PRELUDE = r'''
import json, sys
import numpy as np
def encoded(array):
    array = np.asarray(array)
    if array.dtype.kind == "V":  # TF's and ml_dtypes' bfloat16 and the like
        return [array.dtype.name, list(array.shape), np.ascontiguousarray(array).tobytes().hex()]
    if array.dtype == object:
        return ["string", list(array.shape), [bytes(x).hex() for x in array.reshape(-1)]]
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return [array.dtype.str, list(array.shape), little.tobytes().hex()]
def torch_encoded(tensor):
    import torch
    t = tensor.detach().contiguous()
    if t.dtype in (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2):
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        return [str(t.dtype).replace("torch.", ""), list(t.shape), raw.hex()]
    return encoded(t.numpy())
def out(doc):
    print(json.dumps(doc))
'''


def oracle(framework, code, *args):
    """Runs `code` in the oracle venv (torch or TF, never both) with the prelude above; returns
    the JSON it printed with out()."""
    env = {**os.environ, **_FRAMEWORK_ENV[framework], "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([str(ORACLE_VENV / "bin" / "python"), "-c", _ORACLE_PRELUDE + code,
                           *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"oracle ({framework}) failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_cli(*args, check=True):
    """build/tensorferry ARGS (the CLI the package's reports are compared with)."""
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    if check and proc.returncode not in (0, 1):
        raise AssertionError(f"tensorferry {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


@pytest.fixture(autouse=True)
def _not_the_source_tree():
    """The package under test is the installed wheel, not python/tensorferry of the clone."""
    import tensorferry

    assert "site-packages" in tensorferry.__file__, tensorferry.__file__
    yield
