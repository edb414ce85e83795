"""Hostile files around a checkpoint rather than inside it: special files (FIFOs, devices) and
symbolic links on every route by which tensorferry reaches a file (the command line, a shard
index, a TF `checkpoint` state file, a bundle's data file, a model folder's config and
vocabulary), text nested deep enough to exhaust a recursive parser, and vocabularies that are not
what their names say (docs/hardening.md, "Files around a checkpoint").

Every refusal must be exit 3 within 20 s (a FIFO used to block forever) and bounded memory,
naming the file, and no output may appear.
"""
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import f32_safetensors_bytes
from support.hostile import check_refused, run_limited

DEPTH = 100_000  # the config.json; the state file had 30 000 nested messages


st_bytes = f32_safetensors_bytes  # a safetensors file of f32 tensors {name: values}


def sharded_folder(folder, ext):
    """A folder with NAME.index.json naming one shard file `shard-00001-of-00001.EXT`, the shard
    itself left to the caller."""
    folder.mkdir(parents=True, exist_ok=True)
    shard = f"shard-00001-of-00001.{ext}"
    index_name = {"safetensors": "model.safetensors.index.json",
                  "bin": "pytorch_model.bin.index.json", "h5": "tf_model.h5.index.json"}[ext]
    (folder / index_name).write_text(json.dumps({"metadata": {}, "weight_map": {"w": shard}}))
    return folder / index_name, folder / shard


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    """A tiny Hugging Face GPT-2 folder saved by transformers, with a real-format vocabulary."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    folder = tmp_path_factory.mktemp("gpt2") / "hf"
    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=16, n_positions=8)
    GPT2LMHeadModel(cfg).save_pretrained(folder, safe_serialization=True)
    (folder / "vocab.json").write_text(json.dumps({chr(97 + i): i for i in range(16)}))
    (folder / "merges.txt").write_text("#version: 0.2\na b\nc d\n")
    return folder


def model_copy(gpt2, tmp_path):
    dst = tmp_path / "hf"
    shutil.copytree(gpt2, dst, symlinks=True)
    return dst


def convert_to_tf1(src, tmp_path, *extra):
    out = tmp_path / "tf1"
    return out, run_limited("convert", src, out, "--to", "openai-tf1", "--no-verify", *extra)


def check_not_regular(run, path):
    check_refused(run, path, offset=False)
    assert "not a regular file" in run.stderr, run.describe()


# --- 13.1: special files, whatever route names them ------------------------------------------

@pytest.mark.parametrize("ext", ["safetensors", "bin", "h5"])
def test_fifo_named_by_a_shard_index_is_refused_at_once(ext, tmp_path):
    index, shard = sharded_folder(tmp_path / "m", ext)
    os.mkfifo(shard)
    for args in (["inspect", index], ["convert", index, tmp_path / "out.safetensors"],
                 ["inspect", index.parent]):
        run = run_limited(*args)
        check_not_regular(run, shard)
    assert not (tmp_path / "out.safetensors").exists()


def test_special_file_given_directly_is_bad_input(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero", "/dev/null"):
        check_not_regular(run_limited("inspect", path), path)


def test_fifo_checkpoint_state_file_is_refused(tmp_path):
    folder = tmp_path / "tf"
    folder.mkdir()
    os.mkfifo(folder / "checkpoint")
    check_not_regular(run_limited("inspect", folder), folder / "checkpoint")


def test_fifo_bundle_data_file_is_refused(tmp_path):
    src = tmp_path / "w.safetensors"
    src.write_bytes(st_bytes({"w": [1.0, 2.0]}))
    subprocess_ok = run_limited("convert", src, tmp_path / "b", "--format", "tf-bundle")
    assert subprocess_ok.returncode == 0, subprocess_ok.describe()
    data = tmp_path / "b" / "model.ckpt.data-00000-of-00001"
    data.unlink()
    os.mkfifo(data)
    check_not_regular(run_limited("dump", tmp_path / "b", tmp_path / "d"), data)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("name", ["config.json", "vocab.json", "merges.txt", "model.safetensors"])
def test_fifo_in_a_model_folder_is_refused(name, gpt2, tmp_path):
    """A FIFO vocab.json used to be skipped silently (exit 0, no encoder.json)."""
    src = model_copy(gpt2, tmp_path)
    (src / name).unlink()
    os.mkfifo(src / name)
    out, run = convert_to_tf1(src, tmp_path)
    check_not_regular(run, src / name)
    assert not out.exists()


# --- 13.2: nesting depth in every parser of untrusted text -----------------------------------

def test_deeply_nested_checkpoint_state_file_is_refused(tmp_path):
    """30 000 nested unknown messages (120 KB) made protobuf's text parser overflow the stack."""
    folder = tmp_path / "tf"
    folder.mkdir()
    text = "model_checkpoint_path: \"model.ckpt\"\n" + "x { " * 30_000 + "}" * 30_000
    (folder / "checkpoint").write_text(text)
    for args in (["inspect", folder], ["convert", folder, tmp_path / "o.safetensors"]):
        run = run_limited(*args)
        check_refused(run, folder / "checkpoint")
        assert "nests deeper than" in run.stderr, run.describe()


def test_deeply_nested_config_json_is_refused(gpt2, tmp_path):
    """A 100 000-deep array in an unknown field of config.json crashed --to openai-tf1."""
    src = model_copy(gpt2, tmp_path)
    config = json.loads((src / "config.json").read_text())
    text = json.dumps(config)[:-1] + ', "junk": ' + "[" * DEPTH + "]" * DEPTH + "}"
    (src / "config.json").write_text(text)
    for to in ("openai-tf1", "hf-tf2"):
        out = tmp_path / to
        run = run_limited("convert", src, out, "--to", to, "--no-verify")
        check_refused(run, src / "config.json")
        assert "nests deeper than" in run.stderr, run.describe()
        assert not out.exists()
    check_refused(run_limited("verify", src, src), src / "config.json")


@pytest.mark.parametrize("where", ["index_metadata", "vocab.json", "tokenizer_config.json"])
def test_deeply_nested_json_beside_a_checkpoint_is_refused(where, gpt2, tmp_path):
    deep = "[" * DEPTH + "]" * DEPTH
    if where == "index_metadata":
        index, shard = sharded_folder(tmp_path / "m", "safetensors")
        shard.write_bytes(st_bytes({"w": [1.0]}))
        index.write_text('{"metadata": {"x": ' + deep + '}, "weight_map": {"w": "' + shard.name +
                         '"}}')
        run, path = run_limited("inspect", index), index
    else:
        src = model_copy(gpt2, tmp_path)
        (src / where).write_text('{"a": ' + deep + "}")
        _, run = convert_to_tf1(src, tmp_path) if where == "vocab.json" else (
            None, run_limited("convert", src, tmp_path / "tf2", "--to", "hf-tf2", "--no-verify"))
        path = src / where
    check_refused(run, path)
    assert "nests deeper than" in run.stderr, run.describe()


# --- 13.4: links leaving the folder; vocabularies that are not vocabularies ------------------

@pytest.mark.parametrize("name,target_name", [("vocab.json", "encoder.json"),
                                              ("merges.txt", "vocab.bpe")])
def test_vocabulary_linking_outside_the_folder_is_refused(name, target_name, gpt2, tmp_path):
    """encoder.json used to become a verbatim copy of whatever the link pointed at."""
    src = model_copy(gpt2, tmp_path)
    outside = tmp_path / ("outside_" + name)
    outside.write_bytes((src / name).read_bytes())
    (src / name).unlink()
    (src / name).symlink_to(outside)
    out, run = convert_to_tf1(src, tmp_path)
    check_refused(run, src / name, offset=False)
    assert "outside the folder" in run.stderr and "--follow-symlinks" in run.stderr
    assert not out.exists()
    # Asked for explicitly, the link is followed.
    out, run = convert_to_tf1(src, tmp_path, "--follow-symlinks")
    assert run.returncode == 0, run.describe()
    assert (out / target_name).read_bytes() == outside.read_bytes()


def test_link_to_etc_passwd_is_refused(gpt2, tmp_path):
    src = model_copy(gpt2, tmp_path)
    (src / "vocab.json").unlink()
    (src / "vocab.json").symlink_to("/etc/passwd")
    out, run = convert_to_tf1(src, tmp_path)
    check_refused(run, src / "vocab.json", offset=False)
    assert not out.exists()


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_checkpoint_and_config_linking_outside_are_refused(name, gpt2, tmp_path):
    src = model_copy(gpt2, tmp_path)
    outside = tmp_path / ("outside_" + name)
    shutil.move(src / name, outside)
    (src / name).symlink_to(outside)
    out, run = convert_to_tf1(src, tmp_path)
    check_refused(run, src / name, offset=False)
    assert "outside the folder" in run.stderr, run.describe()
    if name == "model.safetensors":
        check_refused(run_limited("inspect", src), src / name, offset=False)


def test_shard_linking_outside_is_refused(tmp_path):
    index, shard = sharded_folder(tmp_path / "m", "safetensors")
    outside = tmp_path / "elsewhere.safetensors"
    outside.write_bytes(st_bytes({"w": [1.0]}))
    shard.symlink_to(outside)
    check_refused(run_limited("inspect", index), shard, offset=False)
    assert run_limited("inspect", index, "--follow-symlinks").returncode == 0


def test_links_within_the_folder_and_the_hub_cache_are_followed(gpt2, tmp_path):
    """Links inside the folder, and the Hugging Face hub cache layout (snapshots/REV/NAME ->
    ../../blobs/HASH), are what real model folders look like: they are read."""
    repo = tmp_path / "models--tiny--gpt2"
    snapshot = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for i, f in enumerate(sorted(gpt2.iterdir())):
        blob = repo / "blobs" / f"blob{i}"
        shutil.copyfile(f, blob)
        (snapshot / f.name).symlink_to(Path("../..") / "blobs" / blob.name)
    out, run = convert_to_tf1(snapshot, tmp_path)
    assert run.returncode == 0, run.describe()
    assert (out / "encoder.json").read_bytes() == (gpt2 / "vocab.json").read_bytes()
    # A link to a file in a subfolder of the model folder.
    src = model_copy(gpt2, tmp_path)
    (src / "sub").mkdir()
    shutil.move(src / "merges.txt", src / "sub" / "merges.txt")
    (src / "merges.txt").symlink_to(Path("sub") / "merges.txt")
    out = tmp_path / "tf1b"
    run = run_limited("convert", src, out, "--to", "openai-tf1", "--no-verify")
    assert run.returncode == 0, run.describe()
    assert (out / "vocab.bpe").read_bytes() == (gpt2 / "merges.txt").read_bytes()


@pytest.mark.parametrize("name,content,offset", [
    ("vocab.json", "[1, 2, 3]", False),
    ("vocab.json", '{"a": "zero"}', False),
    ("vocab.json", '{"a": -1}', False),
    ("vocab.json", '{"a": 0', True),
    ("merges.txt", "#version: 0.2\na b\na b c\n", True),
    ("merges.txt", "\x00\x01\x02 binary\x00", True),
])
def test_vocabulary_that_is_not_one_is_refused(name, content, offset, gpt2, tmp_path):
    src = model_copy(gpt2, tmp_path)
    (src / name).write_text(content)
    out, run = convert_to_tf1(src, tmp_path)
    check_refused(run, src / name, offset=offset)
    assert not out.exists()


# --- 13.6: sizes of the text around a checkpoint ----------------------------------------------

def test_config_larger_than_the_limit_is_refused_unread(gpt2, tmp_path):
    """A 100 MB config.json took 477 MB to refuse; the 16 MiB limit is checked before reading."""
    src = model_copy(gpt2, tmp_path)
    config = json.loads((src / "config.json").read_text())
    config["junk"] = "x" * (100 << 20)
    (src / "config.json").write_text(json.dumps(config))
    out, run = convert_to_tf1(src, tmp_path)
    check_refused(run, src / "config.json", offset=False)
    assert "more than the 16777216 bytes" in run.stderr, run.describe()
    assert not out.exists()
