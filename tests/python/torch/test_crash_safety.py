"""Crash-safe output: `tensorferry convert` killed with SIGKILL at many points of a write leaves
the destination holding either the previous output, byte for byte, or the complete new one (or,
when there was none before, nothing) - never a partial checkpoint. Multi-file outputs whose files
sit side by side (a TF bundle prefix, a sharded file) may also be left without their index, which
no loader accepts; tensorferry itself must then refuse them, and the next run over the same name
removes those remnants (it needs no --force: they were never a published checkpoint). The
temporaries a killed run leaves are removed by the next run.

Each case measures how long a full conversion takes, then kills runs after stepped delays across
that time (plus one kill as soon as the staging file appears).
"""
import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from conftest import BIN, run_tf

KILLS = int(os.environ.get("TENSORFERRY_CRASH_KILLS", "8"))
TEMP_MARKERS = (".tensorferry-tmp-", ".tensorferry-publishing-")


def make_input(path, seed, tensors=24, elems=2_000_000):
    """~190 MB of f32 in `tensors` tensors: big enough that a convert takes a good fraction of a
    second, so kills land inside the write."""
    rng = np.random.default_rng(seed)
    save_file({f"layer{i}/weight": rng.standard_normal(elems, dtype=np.float32)
               for i in range(tensors)}, str(path))
    return path


def snapshot(dest):
    """{relative path: sha256} of every visible file under dest (temporaries are hidden)."""
    out = {}
    for p in sorted(Path(dest).rglob("*")):
        rel = p.relative_to(dest)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        out[str(rel)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def temporaries(dest):
    return [p for p in Path(dest).rglob("*") if any(m in p.name for m in TEMP_MARKERS)]


def convert_args(src, out, extra):
    return ["convert", src, out, "--force", "-q", *extra]


def clear(dest):
    for p in list(Path(dest).iterdir()):
        subprocess.run(["rm", "-rf", str(p)], check=True)


def timed_full_run(args):
    start = time.monotonic()
    run_tf(*args, timeout=300)
    return time.monotonic() - start


def kill_after(args, delay):
    proc = subprocess.Popen([str(BIN), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60)


def kill_when_staging_appears(args, dest, timeout=30):
    proc = subprocess.Popen([str(BIN), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        staged = temporaries(dest)
        if staged and any((p.is_file() and p.stat().st_size > 0) or p.is_dir() for p in staged):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60)


def kill_when_replaced(args, watched, timeout=30):
    """Kills the run the moment `watched` (a published file of the previous output) is replaced:
    the middle of a multi-file commit, the narrowest window there is."""
    before = os.stat(watched).st_ino
    proc = subprocess.Popen([str(BIN), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if os.stat(watched).st_ino != before:
                break
        except FileNotFoundError:
            break
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=60)


# name -> (output relative to dest, extra args, index file relative to dest or None)
CASES = {
    "single_file_pytorch": ("out.pt", [], None),
    "single_file_keras_h5": ("out.h5", [], None),
    "folder_sharded_safetensors": ("model/", ["--format", "safetensors", "--shard-size", "60MB"],
                                   None),
    "folder_tf_bundle": ("ckpt/", ["--format", "tf-bundle"], None),
    "sharded_file_safetensors": ("out.safetensors", ["--shard-size", "60MB"],
                                 "out.safetensors.index.json"),
    "tf_bundle_prefix": ("model.ckpt", ["--format", "tf-bundle", "--shard-size", "60MB"],
                         "model.ckpt.index"),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("crash_inputs")
    yield make_input(d / "a.safetensors", 1), make_input(d / "b.safetensors", 2)
    shutil.rmtree(d)  # pytest keeps the last runs' temp folders; these are 380 MB


@pytest.fixture(autouse=True)
def _remove_outputs(tmp_path):
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.parametrize("previous", [True, False], ids=["replacing", "fresh"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_killed_convert_leaves_old_or_new_or_nothing(case, previous, inputs, tmp_path):
    out_rel, extra, index_rel = CASES[case]
    a, b = inputs
    # The complete new output, made once undisturbed, to compare against.
    ref_dest = tmp_path / "ref"
    ref_dest.mkdir()
    duration = timed_full_run(convert_args(b, ref_dest / out_rel, extra))
    new_state = snapshot(ref_dest)
    assert new_state

    dest = tmp_path / "dest"
    dest.mkdir()
    out = dest / out_rel
    if previous:
        run_tf(*convert_args(a, out, extra), timeout=300)
    old_state = snapshot(dest)

    def assert_remnant_is_refused_then_removed(case, delay, rc, state):
        # Only multi-file outputs beside each other may be caught between their files, and only
        # without their index: nothing that claims to be a checkpoint.
        assert index_rel is not None and index_rel not in state, (
            f"{case}: killed after {delay} (rc {rc}) left a mixed output: "
            f"{sorted(state)} (old {sorted(old_state)}, new {sorted(new_state)})")
        # What a loader would open (the index, or the bundle prefix) is refused.
        opened = dest / (index_rel if index_rel.endswith(".json") else out_rel)
        refused = run_tf("inspect", opened, check=False)
        assert refused.returncode in (3, 4), refused.stderr
        # The next run over the same name, without --force, removes the remnant and writes.
        again = a if previous else b
        run_tf(*[arg for arg in convert_args(again, out, extra) if arg != "--force"], timeout=300)
        assert not temporaries(dest), temporaries(dest)
        assert snapshot(dest) == (old_state if previous else new_state)
        if not previous:
            clear(dest)

    args = convert_args(b, out, extra)
    delays = [duration * (k + 0.5) / KILLS for k in range(KILLS)]
    outcomes = []
    for delay in ["staging"] + delays:
        if delay == "staging":
            rc = kill_when_staging_appears(args, dest)
        else:
            rc = kill_after(args, delay)
        state = snapshot(dest)
        if state == old_state:
            outcomes.append("old")
        elif state == new_state:
            outcomes.append("new")
            # Put the previous output back so that later kills test a replacement again.
            clear(dest)
            if previous:
                run_tf(*convert_args(a, out, extra), timeout=300)
        else:
            assert_remnant_is_refused_then_removed(case, delay, rc, state)
            outcomes.append("no-index")
        assert snapshot(dest) == old_state
    # The kills must have landed inside writes at least once, or the test proves nothing.
    assert "old" in outcomes, outcomes

    if previous and index_rel is not None:
        # Killed right after the first data file of the new output replaced the old one: the
        # old index must already be gone.
        first_data = sorted(k for k in old_state if k not in (index_rel, "checkpoint"))[0]
        for _ in range(3):
            kill_when_replaced(args, dest / first_data)
            state = snapshot(dest)
            assert state in (old_state, new_state) or index_rel not in state, (
                f"{case}: the old index survived next to new data: {sorted(state)}")
            if state == new_state:
                clear(dest)
                run_tf(*convert_args(a, out, extra), timeout=300)
            elif state != old_state:
                assert_remnant_is_refused_then_removed(case, "first data file", "killed", state)

    # A killed run's temporaries are cleaned up by the next run on the same output.
    rc = kill_when_staging_appears(args, dest)
    assert rc == -signal.SIGKILL
    assert temporaries(dest), "the killed run left no temporary to clean up (killed too late?)"
    run_tf(*args, timeout=300)
    assert not temporaries(dest), temporaries(dest)
    assert snapshot(dest) == new_state


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory):
    """A GPT-2 big enough (~120 MB) that `convert --to hf-tf2` takes a while."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("gpt2")
    cfg = GPT2Config(n_layer=6, n_embd=512, n_head=8, vocab_size=8192, n_positions=256)
    GPT2LMHeadModel(cfg).save_pretrained(d / "src", safe_serialization=True)
    torch.manual_seed(1)
    GPT2LMHeadModel(cfg).save_pretrained(d / "other", safe_serialization=True)
    yield d / "src", d / "other"
    shutil.rmtree(d)


def test_killed_model_conversion_folder(gpt2_folder, tmp_path):
    """--to writes a whole model folder (weights + config): it appears complete or not at all."""
    src, other = gpt2_folder
    extra = ["--to", "hf-tf2", "--no-verify"]
    ref = tmp_path / "ref" / "tf2"
    duration = timed_full_run(convert_args(src, ref, extra))
    new_state = snapshot(ref)
    assert "tf_model.h5" in new_state and "config.json" in new_state

    dest = tmp_path / "dest"
    dest.mkdir()
    out = dest / "tf2"
    run_tf(*convert_args(other, out, extra), timeout=300)
    old_state = snapshot(out)
    args = convert_args(src, out, extra)
    outcomes = []
    for k in range(KILLS):
        kill_after(args, duration * (k + 0.5) / KILLS)
        state = snapshot(out) if out.exists() else {}
        assert state in (old_state, new_state), f"partial model folder: {sorted(state)}"
        outcomes.append("old" if state == old_state else "new")
        if state == new_state:
            run_tf(*convert_args(other, out, extra), timeout=300)
    assert "old" in outcomes, outcomes
    run_tf(*args, timeout=300)
    assert not temporaries(dest), temporaries(dest)
    assert snapshot(out) == new_state
