"""One output name, one output (issue 13 items 8 and 9).

`--force` leaves exactly the new output under a name, also when it switches between a single file
and shards + index (`--shard-size`) in either direction; without `--force`, either form counts as
an existing output. Two runs writing one name at the same time never both publish: each takes an
exclusive lock beside the output (core/output_lock.h), a second run exits 4 naming the holder, and
whatever is left under the name is one run's complete output, byte for byte.
"""
import fcntl
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from conftest import BIN, run_tf
from support.filesystem import listing


def make_weights(path, seed, tensors=8, elems=1 << 18):
    rng = np.random.default_rng(seed)
    arrays = {f"layer{i}/weight": rng.standard_normal(elems, dtype=np.float32)
              for i in range(tensors)}
    save_file(arrays, str(path))
    return arrays


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Two different 8 MB checkpoints: which one an output holds tells the runs apart."""
    d = tmp_path_factory.mktemp("sources")
    a = make_weights(d / "a.safetensors", 1)
    b = make_weights(d / "b.safetensors", 2)
    return (d / "a.safetensors", a), (d / "b.safetensors", b)


def load_output(folder, single_name):
    """{tensor: array} of what the owning library reads under `single_name` in `folder`: the
    single file, or every shard its index names."""
    folder = Path(folder)
    index = folder / (single_name + ".index.json")
    if index.exists():
        files = [folder / f for f in sorted(set(json.loads(index.read_text())["weight_map"]
                                                .values()))]
    else:
        files = [folder / single_name]
    out = {}
    for f in files:
        if f.suffix == ".safetensors":
            out.update(load_file(str(f)))
        else:
            out.update({k: v.numpy() for k, v in torch.load(f, weights_only=True).items()})
    return out


def assert_holds(folder, single_name, arrays):
    loaded = load_output(folder, single_name)
    assert sorted(loaded) == sorted(arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)


@pytest.mark.parametrize("ext", ["safetensors", "bin"])
def test_force_switches_between_single_file_and_shards(ext, sources, tmp_path):
    (a, a_arrays), (b, b_arrays) = sources
    name = f"model.{ext}"
    out = tmp_path / name
    shards = ["--shard-size", "3MB"]
    run_tf("convert", a, out)
    assert listing(tmp_path) == [name]

    # single -> shards: refused without --force, then exactly index + shards.
    refused = run_tf("convert", b, out, *shards, check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr
    assert listing(tmp_path) == [name]
    run_tf("convert", b, out, *shards, "--force")
    files = listing(tmp_path)
    shard_files = [f for f in files if f != f"{name}.index.json"]
    assert len(shard_files) == len(files) - 1 > 1, files
    assert all(re.fullmatch(rf"model-\d{{5}}-of-{len(shard_files):05d}\.{ext}", f)
               for f in shard_files), files  # no single file beside them
    assert_holds(tmp_path, name, b_arrays)

    # shards -> single: refused without --force, then exactly the single file.
    refused = run_tf("convert", a, out, check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr
    assert listing(tmp_path) == files
    run_tf("convert", a, out, "--force")
    assert listing(tmp_path) == [name]
    assert_holds(tmp_path, name, a_arrays)


# --- concurrent runs ------------------------------------------------------------------------------

TRIALS = 15


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def dumped(prefix, work):
    """{tensor: sha256 of its bytes} as tensorferry reads the bundle, after inspect --check."""
    check = run_tf("inspect", "--check", prefix, check=False)
    assert check.returncode == 0, "mixed or broken output: " + check.stderr
    out = Path(work) / "dump"
    run_tf("dump", prefix, out, "--force")
    manifest = json.loads((out / "manifest.json").read_text())
    return {e["name"]: sha(out / e["file"]) for e in manifest}


def run_pair(args_a, args_b):
    procs = [subprocess.Popen([str(BIN), *map(str, args)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for args in (args_a, args_b)]
    return [(p.wait(timeout=120), p.stderr.read()) for p in procs]


@pytest.fixture(scope="module")
def references(sources, tmp_path_factory):
    """What a lone run writes for each source, read back."""
    d = tmp_path_factory.mktemp("references")
    refs = []
    for src, _ in sources:
        prefix = d / src.stem / "model.ckpt"
        run_tf("convert", src, prefix, "--format", "tf-bundle", "--shard-size", "3MB")
        refs.append(dumped(prefix, d / src.stem))
    assert refs[0] != refs[1]
    return refs


def test_a_held_lock_makes_a_second_run_exit_4_without_writing(sources, tmp_path):
    (a, _), _ = sources
    prefix = tmp_path / "model.ckpt"
    lock_file = tmp_path / ".model.ckpt.tensorferry-lock"
    with open(lock_file, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write(f"{os.getpid()}\n")
        held.flush()
        run = run_tf("convert", a, prefix, "--format", "tf-bundle", check=False)
        assert run.returncode == 4, run.stderr
        assert f"another tensorferry process (pid {os.getpid()})" in run.stderr, run.stderr
        assert str(prefix) in run.stderr
        assert listing(tmp_path) == [lock_file.name]
    lock_file.unlink()
    run_tf("convert", a, prefix, "--format", "tf-bundle")
    assert not [n for n in listing(tmp_path) if "tensorferry" in n], listing(tmp_path)


@pytest.mark.parametrize("force", [False, True], ids=["fresh_name", "force"])
def test_concurrent_runs_to_one_prefix_never_mix(force, sources, references, tmp_path):
    """The issue's trials: two runs started together on one TF bundle prefix (3 data shards
    each). Without --force, at most one exits 0; with it, each exits 0 or 4; either way the
    prefix then holds exactly one run's output."""
    (a, _), (b, _) = sources
    extra = ["--format", "tf-bundle", "--shard-size", "3MB"] + (["--force"] if force else [])
    outcomes = []
    for trial in range(TRIALS):
        work = tmp_path / str(trial)
        prefix = work / "out" / "model.ckpt"
        results = run_pair(["convert", a, prefix, *extra], ["convert", b, prefix, *extra])
        for rc, err in results:
            assert rc in ((0, 2, 4) if not force else (0, 4)), err
            if rc == 4:
                assert "another tensorferry process" in err, err
        codes = [rc for rc, _ in results]
        if not force:
            assert codes.count(0) == 1, f"trial {trial}: {results}"
        else:
            assert 0 in codes, f"trial {trial}: {results}"
        state = dumped(prefix, work)
        assert state in references, f"trial {trial}: the output is neither run's"
        assert not [n for n in listing(work / "out") if ".tensorferry-" in n], listing(work)
        outcomes.append(tuple(codes))
    print("exit codes per trial:", outcomes)
