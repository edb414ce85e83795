"""Outputs on a full disk (issue 13 items 3 and 7).

A disk that fills up while tensorferry writes must end the run with exit 4 and the operating
system's message, no signal, no temporary file, lock or marker left behind, and nothing under the
output's name; the next run on a disk with room succeeds. The disk is a real tmpfs (see
support/filesystem.py) and the error the real ENOSPC: each run is stopped (SIGSTOP) the moment
its first staged file holds data, the tmpfs is filled to the last page, and the run continued.
Every output kind is covered: single safetensors, .bin zip, Keras .h5 and GGUF files, shards of
each under a file name, a TF bundle prefix, and the model folders of `--to` (tf_model.h5, a TF1
bundle with its `checkpoint` file, sharded pytorch_model.bin).

An output that cannot fit is refused before anything is written (exit 4, statvfs), and one that
declares far more than its input stores (views of one storage, stride-0 views) is refused with
exit 3 unless `--allow-expansion` (core/output_space.h; docs/hardening.md).
"""
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from conftest import BIN, run_tf
from support.filesystem import fill, listing, small_tmpfs
from support.hostile import run_limited

DISK_MB = 128
NO_SPACE = "No space left on device"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """40 MB of f32 in ten tensors named as Keras names weights ("layer/weight")."""
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("weights") / "in.safetensors"
    save_file({f"layer{i}/weight": rng.standard_normal(1 << 20, dtype=np.float32)
               for i in range(10)}, str(path))
    return path


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    """A Hugging Face GPT-2 folder of ~70 MB, so that a model conversion writes for a while."""
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("gpt2") / "src"
    cfg = GPT2Config(n_layer=4, n_embd=512, n_head=8, vocab_size=8192, n_positions=256)
    GPT2LMHeadModel(cfg).save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture
def disk(tmp_path):
    with small_tmpfs(tmp_path / "disk", DISK_MB) as mounted:
        yield mounted


# name -> (output name on the disk, extra args, source: "weights" or "gpt2")
KINDS = {
    "safetensors": ("out.safetensors", [], "weights"),
    "safetensors_shards": ("out.safetensors", ["--shard-size", "10MB"], "weights"),
    "pytorch_zip": ("out.bin", [], "weights"),
    "pytorch_shards": ("out.bin", ["--shard-size", "10MB"], "weights"),
    "keras_h5": ("out.h5", [], "weights"),
    "keras_h5_shards": ("out.h5", ["--shard-size", "10MB"], "weights"),
    "tf_bundle_prefix": ("model.ckpt", ["--format", "tf-bundle", "--shard-size", "10MB"],
                         "weights"),
    "folder_safetensors": ("folder/", ["--format", "safetensors"], "weights"),
    "gguf": ("out.gguf", [], "weights"),  # written with O_DIRECT by a second thread
    "hf_tf2_folder": ("tf2", ["--to", "hf-tf2", "--no-verify"], "gpt2"),
    "openai_tf1_folder": ("tf1", ["--to", "openai-tf1", "--no-verify"], "gpt2"),
    "hf_pytorch_bin_shards": ("pt", ["--to", "hf-pytorch", "--format", "pytorch",
                                     "--shard-size", "20MB", "--no-verify"], "gpt2"),
}


def staged_data(root):
    """Whether a staged file (a temporary sibling, or a file in a staging folder) holds data."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if ".tensorferry-tmp-" in path:
                try:
                    if os.stat(path).st_size > 0:
                        return True
                except FileNotFoundError:
                    pass
    return False


def run_into_full_disk(args, disk):
    """Starts `tensorferry args`, stops it as soon as it has staged data, fills the disk and lets
    it go on. Returns (returncode, stderr), or None when the run finished before it could be
    stopped."""
    proc = subprocess.Popen([str(BIN), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while proc.poll() is None and not staged_data(disk) and time.monotonic() < deadline:
        pass
    proc.send_signal(signal.SIGSTOP)
    if proc.poll() is not None or not staged_data(disk):
        proc.send_signal(signal.SIGCONT)
        proc.communicate(timeout=120)
        return None
    filler = fill(disk)
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err, filler


@pytest.mark.parametrize("kind", KINDS)
def test_disk_filling_up_midway_ends_in_exit_4_and_leaves_nothing(kind, disk, weights, gpt2):
    out_name, extra, source = KINDS[kind]
    src = weights if source == "weights" else gpt2
    args = ["convert", src, disk / out_name, *extra]
    for _ in range(3):
        outcome = run_into_full_disk(args, disk)
        if outcome:
            break
        for p in list(disk.iterdir()):
            subprocess.run(["rm", "-rf", str(p)], check=True)
    assert outcome, "every run finished before it could be stopped midway"
    rc, err, filler = outcome
    assert rc >= 0, f"killed by signal {-rc}: {err}"
    assert rc == 4, err
    assert err.startswith("tensorferry: ") and NO_SPACE in err, err
    assert listing(disk) == [filler.name], "left behind: " + ", ".join(listing(disk))

    filler.unlink()
    run_tf(*args, timeout=300)
    index = disk / (out_name + ".index.json")
    run_tf("inspect", "--check", index if index.exists() else disk / out_name)
    assert not [n for n in listing(disk) if ".tensorferry-" in n], listing(disk)


@pytest.mark.parametrize("kind", KINDS)
def test_output_that_cannot_fit_is_refused_before_writing(kind, tmp_path, weights, gpt2):
    out_name, extra, source = KINDS[kind]
    src = weights if source == "weights" else gpt2
    with small_tmpfs(tmp_path / "small", 16) as small:
        run = run_limited("convert", src, small / "sub" / out_name, *extra)
        check_clean_outcome_io(run)
        assert "free" in run.stderr and "nothing was written" in run.stderr, run.describe()
        assert listing(small) == [], listing(small)


def check_clean_outcome_io(run):
    assert not run.timed_out, "hang: " + run.describe()
    assert run.returncode >= 0, f"killed by signal {-run.returncode}: " + run.describe()
    assert run.returncode == 4, run.describe()
    assert run.stderr.startswith("tensorferry: "), run.describe()


# --- disk amplification --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def amplifiers(tmp_path_factory):
    """The two inputs of the issue: a legacy torch file (~8 MB) whose 300 000 names all view one
    4 MiB storage (1.2 TB written out), and a zip whose 200 stride-0 views of one element
    declare 1 GiB each."""
    d = tmp_path_factory.mktemp("amplifiers")
    tensor = torch.zeros(1 << 20)
    torch.save({f"v{i}": tensor for i in range(300_000)}, d / "views.pt",
               _use_new_zipfile_serialization=False)
    one = torch.zeros(1)
    torch.save({f"t{i}": one.expand(1 << 14, 1 << 14) for i in range(200)}, d / "stride0.pt")
    return {"views.pt": d / "views.pt", "stride0.pt": d / "stride0.pt"}


@pytest.mark.parametrize("name", ["views.pt", "stride0.pt"])
def test_expanding_input_is_refused_unless_allowed(name, amplifiers, tmp_path):
    src = amplifiers[name]
    assert src.stat().st_size < 16 << 20
    out = tmp_path / "out" / "x.safetensors"
    for args in (["convert", src, out], ["dump", src, tmp_path / "out" / "dumped"]):
        run = run_limited(*args)
        assert run.returncode == 3, run.describe()
        assert src.name in run.stderr and "--allow-expansion" in run.stderr, run.describe()
        assert not (tmp_path / "out").exists()
    # Allowed, it still has to fit: 200 GiB and 1.2 TB do not fit a 16 MiB disk.
    with small_tmpfs(tmp_path / "small", 16) as small:
        run = run_limited("convert", src, small / "x.safetensors", "--allow-expansion")
        check_clean_outcome_io(run)
        assert "free" in run.stderr, run.describe()
        assert listing(small) == []


def test_expansion_below_the_floor_is_written(tmp_path):
    """Three stride-0 views of 1 MiB from one element: 3 MiB from a file of a few KB is no
    amplification attack; the output holds what torch holds."""
    one = torch.full((1,), 2.5)
    views = {f"t{i}": one.expand(512, 512) for i in range(3)}
    torch.save(views, tmp_path / "small.pt")
    run_tf("convert", tmp_path / "small.pt", tmp_path / "out.safetensors")
    loaded = load_file(str(tmp_path / "out.safetensors"))
    assert sorted(loaded) == sorted(views)
    for name, view in views.items():
        np.testing.assert_array_equal(loaded[name], view.contiguous().numpy())
