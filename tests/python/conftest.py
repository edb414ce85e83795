"""Shared helpers for the interop tests.

Tests in tests/python/torch may import torch (never TensorFlow); tests in tests/python/tf may
import TensorFlow (never torch); tests in tests/python/cross drive both through subprocesses
(`run_python`). scripts/test.sh runs each folder in its own pytest process.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import referencing

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
BIN = Path(os.environ.get("TENSORFERRY_BIN", ROOT / "build" / "tensorferry"))

if not BIN.exists():
    raise RuntimeError(f"tensorferry binary not found at {BIN}: build it first (scripts/setup.sh)")


def _schema_registry():
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], referencing.Resource.from_contents(schema)))
    return referencing.Registry().with_resources(resources)


_REGISTRY = None


def validate_json_output(doc, command):
    """Every --json document is a contract: it names its schema, tensorferry.<command>/1, and
    validates against docs/schemas/<command>.schema.json (which refers to the others)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _schema_registry()
    assert isinstance(doc, dict) and doc.get("schema") == f"tensorferry.{command}/1", \
        f"--json output of {command} does not name its schema: {str(doc)[:200]}"
    schema = json.loads((SCHEMAS / f"{command}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema, registry=_REGISTRY).validate(doc)
    return doc


def run_tf(*args, check=True, timeout=600):
    """Runs the tensorferry binary; returns the CompletedProcess (text mode). A --json document
    it prints is validated against its schema (validate_json_output)."""
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"tensorferry {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    if "--json" in map(str, args) and proc.returncode in (0, 1) and proc.stdout.strip():
        validate_json_output(json.loads(proc.stdout), str(args[0]))
    return proc


def f32_safetensors_bytes(tensors):
    """{name: list of floats} as 1-D f32 tensors: the bytes of a safetensors file written by hand
    (no framework needed)."""
    import struct
    header, data = {}, b""
    for name, values in tensors.items():
        raw = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": [len(values)],
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def write_f32_safetensors(path, tensors):
    """f32_safetensors_bytes(tensors) written to `path`."""
    Path(path).write_bytes(f32_safetensors_bytes(tensors))


def inspect_json(path, *extra):
    return json.loads(run_tf("inspect", "--json", path, *extra).stdout)


def dump(path, out_dir, *extra):
    """What tensorferry reads: {name: {"dtype", "shape", "role", "bytes"}}."""
    out_dir = Path(out_dir)
    run_tf("dump", path, out_dir, *extra)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    result = {}
    for entry in manifest:
        entry["bytes"] = (out_dir / entry["file"]).read_bytes()
        result[entry["name"]] = entry
    return result


def run_python(code, *args, timeout=900):
    """Runs `code` in a fresh interpreter of this venv (so TF and torch never share a process).
    The snippet gets sys.argv[1:] = args; whatever it prints last as JSON is returned."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"python snippet failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    return json.loads(lines[-1]) if lines else None


@pytest.fixture
def tf_run():
    return run_tf
