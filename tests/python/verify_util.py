"""Helpers for the verify/diff/forward tests (tests/python/*/test_verify_*.py).

Framework-free: imports neither torch nor TensorFlow, so every test folder can use it.
"""
import json
import shutil
from pathlib import Path

import numpy as np

from conftest import run_tf


def forward(path, sequences, *extra):
    """tensorferry's reference forward pass: {stage: [array per sequence]} and the raw JSON.
    `sequences`: list of token lists, or of (tokens, token_types) pairs."""
    args = ["forward", path, "--json", *extra]
    for seq in sequences:
        tokens, types = (seq if isinstance(seq, tuple) else (seq, None))
        args += ["--tokens", ",".join(map(str, tokens))]
        if types is not None:
            args += ["--token-types", ",".join(map(str, types))]
    doc = json.loads(run_tf(*args).stdout)
    stages = {}
    for s in doc["stages"]:
        assert "problem" not in s, f"stage {s['name']}: {s['problem']}"
        stages[s["name"]] = [np.array(v, dtype=np.float64) for v in s["values"]]
    return stages, doc


def verify(a, b, *extra):
    """Runs `tensorferry verify --json`; returns (exit code, report)."""
    proc = run_tf("verify", a, b, "--json", *extra, check=False)
    assert proc.returncode in (0, 1), f"verify exited {proc.returncode}: {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def diff(a, b, *extra):
    proc = run_tf("diff", a, b, "--json", *extra, check=False)
    assert proc.returncode in (0, 1), f"diff exited {proc.returncode}: {proc.stderr}"
    return proc.returncode, json.loads(proc.stdout)


def stage(report, name):
    for s in report["stages"]:
        if s["name"] == name:
            return s
    raise KeyError(name)


def report_sequences(report):
    return [(s["tokens"], s.get("token_types")) for s in report["sequences"]]


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def compare_stages(ours, theirs, tolerance, skip=()):
    """ours: {stage: [array per sequence]}; theirs likewise. Every stage of `theirs` must be in
    `ours` with the same shapes and agree within `tolerance`. Returns {stage: max abs error}."""
    errors = {}
    for name, arrays in theirs.items():
        if name in skip:
            continue
        assert name in ours, f"tensorferry has no stage {name!r} (has {sorted(ours)})"
        assert len(ours[name]) == len(arrays)
        worst = 0.0
        for mine, ref in zip(ours[name], arrays):
            ref = np.asarray(ref, np.float64).reshape(mine.shape)
            worst = max(worst, max_abs(mine, ref))
        errors[name] = worst
    bad = {k: v for k, v in errors.items() if not v <= tolerance}
    assert not bad, f"stages beyond {tolerance}: {bad}"
    return errors


def copy_model_dir(src, dst):
    shutil.copytree(src, dst)
    return Path(dst)


def verify_exact_copy(path, workdir):
    """A copy of the model folder `path` is decided by its identical weights, without a forward
    pass; with --always-forward every stage runs and passes. Returns that pass's stage names."""
    copy = copy_model_dir(path, Path(workdir) / (Path(path).name + "_copy"))
    rc, report = verify(path, copy)
    assert rc == 0 and report["proof"] == "identical-weights", report["first_failure"]
    rc, report = verify(path, copy, "--always-forward")
    assert rc == 0 and report["passed"], report["first_failure"]
    return [s["name"] for s in report["stages"]]


def edit_config(folder, name="config.json", **changes):
    path = Path(folder) / name
    cfg = json.loads(path.read_text())
    cfg.update(changes)
    path.write_text(json.dumps(cfg, indent=2))
