"""Corruption corpus for the TensorFlow-side formats, from files the real libraries write:
TF2 tf.train.Checkpoint and TF1 Saver bundles, Keras 2 save_weights h5 and a Hugging Face
TF model's tf_model.h5.

Truncations land on every structural boundary (computed from the file's own structure: table
blocks and footer of the bundle index, every tensor's start and end in the data file, the HDF5
superblock, object headers and every dataset's data) plus a sample of other offsets; bit flips
land in every header structure and in every tensor's data. Every run must end cleanly (exit 0 or
3, never a signal, a hang or exit 4). TF bundles store a CRC32C per tensor and per index block,
so every data flip must be detected (exit 3 naming the tensor) and every truncation refused.
"""
import json
import random
import shutil
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
import tensorflow as tf

from conftest import inspect_json, run_tf
from support.hostile import check_clean_outcome, check_refused, flip_bit, run_limited

SAMPLE = 12  # extra random offsets per file, besides the structural ones
H5_CAP = 50  # structural points per HDF5 file (an HF model has hundreds of objects)


def capped(points, size, seed):
    points = sorted(p for p in points if 0 <= p < size)
    if len(points) <= H5_CAP:
        return points
    return sorted(random.Random(seed).sample(points, H5_CAP))


def _varint(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def table_boundaries(index):
    """Block starts/ends/trailers of a LevelDB table (the bundle index), from its footer."""
    footer = len(index) - 48
    meta_off, p = _varint(index, footer)
    meta_size, p = _varint(index, p)
    idx_off, p = _varint(index, p)
    idx_size, p = _varint(index, p)
    points = {0, 1, footer, footer + 1, len(index) - 8, len(index) - 1, meta_off,
              meta_off + meta_size, idx_off, idx_off + idx_size, idx_off + idx_size + 1}
    # The index block lists every data block's handle after each key.
    block = index[idx_off:idx_off + idx_size]
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    pos, end = 0, len(block) - 4 - 4 * n_restarts
    points.add(idx_off + end)
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        pos += unshared
        off, q = _varint(block, pos)
        size, q = _varint(block, q)
        points.update({off, off + 1, off + size, off + size + 1, off + size + 4})
        pos += vlen
    return sorted(p for p in points if 0 <= p < len(index))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    rng = np.random.default_rng(0)
    v = {"dense/kernel": tf.Variable(rng.standard_normal((8, 4)).astype(np.float32)),
         "dense/bias": tf.Variable(np.arange(4, dtype=np.float32)),
         "emb": tf.Variable(rng.standard_normal((16, 8)).astype(np.float16)),
         "step": tf.Variable(np.int64(7))}
    ckpt = tf.train.Checkpoint(**{k.replace("/", "_"): x for k, x in v.items()})
    tf2 = ckpt.write(str(d / "tf2" / "ckpt"))
    with tf.Graph().as_default():
        a = tf.compat.v1.get_variable("a", initializer=rng.standard_normal((5, 3)).astype(np.float32))
        b = tf.compat.v1.get_variable("scope/b", initializer=np.arange(6, dtype=np.int32))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf1 = saver.save(sess, str(d / "tf1" / "model.ckpt"))
    return {"tf2": tf2, "tf1": tf1}


def bundle_files(prefix):
    return Path(prefix + ".index"), Path(prefix + ".data-00000-of-00001")


@pytest.mark.parametrize("kind", ["tf2", "tf1"])
def test_bundle_truncations_at_every_boundary(kind, bundles, tmp_path):
    index, data = bundle_files(bundles[kind])
    listing = inspect_json(bundles[kind])
    rng = random.Random(1)
    for original in (index, data):
        raw = original.read_bytes()
        if original is index:
            cuts = set(table_boundaries(raw))
        else:
            cuts = {0, 1}
            for t in listing["tensors"]:
                cuts.update({t["offset"], t["offset"] + 1, t["offset"] + t["nbytes"] - 1})
        cuts.update(rng.randrange(len(raw)) for _ in range(SAMPLE))
        for cut in sorted(c for c in cuts if c < len(raw)):
            work = tmp_path / f"cut{cut}"
            shutil.copytree(Path(bundles[kind]).parent, work)
            target = work / original.name
            target.write_bytes(raw[:cut])
            prefix = str(work / Path(bundles[kind]).name)
            run = run_limited("inspect", "--check", prefix)
            check_refused(run, target, offset=cut > 0)
            run = run_limited("dump", prefix, work / "out")
            check_refused(run, target, offset=cut > 0)
            shutil.rmtree(work)


@pytest.mark.parametrize("kind", ["tf2", "tf1"])
def test_bundle_every_data_flip_is_detected(kind, bundles, tmp_path):
    _, data = bundle_files(bundles[kind])
    listing = inspect_json(bundles[kind])
    raw = data.read_bytes()
    for t in listing["tensors"]:
        # A string tensor's nbytes is its decoded size, not what it occupies in the file.
        end = min(t["offset"] + t["nbytes"], len(raw))
        for at in sorted({t["offset"], (t["offset"] + end) // 2, end - 1}):
            work = tmp_path / "w"
            shutil.copytree(Path(bundles[kind]).parent, work)
            (work / data.name).write_bytes(flip_bit(raw, at, at % 8))
            prefix = str(work / Path(bundles[kind]).name)
            for run in (run_limited("inspect", "--check", prefix),
                        run_limited("dump", prefix, work / "out"),
                        run_limited("convert", prefix, work / "o.ckpt")):
                check_refused(run, work / data.name, tensor=t["name"])
                # A string tensor's length prefix may be refused for its sum before the checksum.
                assert "checksum" in run.stderr or t["dtype"] == "string", run.describe()
            assert not (work / "o.ckpt.index").exists()
            shutil.rmtree(work)


@pytest.mark.parametrize("kind", ["tf2", "tf1"])
def test_bundle_index_flips_are_caught_or_harmless(kind, bundles, tmp_path):
    index, _ = bundle_files(bundles[kind])
    raw = index.read_bytes()
    expected = [dict(t, file=None) for t in inspect_json(bundles[kind])["tensors"]]
    rng = random.Random(2)
    points = set(table_boundaries(raw)) | {rng.randrange(len(raw)) for _ in range(SAMPLE)}
    for at in sorted(points):
        work = tmp_path / "w"
        shutil.copytree(Path(bundles[kind]).parent, work)
        (work / index.name).write_bytes(flip_bit(raw, at, 3))
        prefix = str(work / Path(bundles[kind]).name)
        run = run_limited("inspect", "--check", "--json", prefix)
        check_clean_outcome(run)
        if run.returncode == 0:
            # Only bytes nobody reads (footer padding) may change without an error.
            got = [dict(t, file=None) for t in json.loads(run.stdout)["tensors"]]
            assert got == expected, f"flip at {at} changed the listing silently"
        shutil.rmtree(work)


# --- HDF5 ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def h5_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("h5")
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((6,)), tf.keras.layers.Dense(5, name="d1"),
                                 tf.keras.layers.Dense(3, name="d2")])
    model.save_weights(str(d / "keras.h5"))
    from transformers import BertConfig, TFBertModel
    cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32)
    bert = TFBertModel(cfg)
    bert(bert.dummy_inputs)
    bert.save_pretrained(str(d / "hf"))
    return {"keras": d / "keras.h5", "hf": d / "hf" / "tf_model.h5"}


def h5_boundaries(path):
    """Superblock, every object header and every dataset's data start/end."""
    points = {0, 8, 16, 48, 96}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            try:
                points.add(h5py.h5o.get_info(obj.id).addr)
            except Exception:
                pass
            if isinstance(obj, h5py.Dataset):
                off = obj.id.get_offset()
                if off is not None:
                    points.update({off, off + obj.id.get_storage_size() - 1})
        points.add(h5py.h5o.get_info(f.id).addr)
        f.visititems(visit)
    size = path.stat().st_size
    return sorted(p for p in points if 0 <= p < size)


def dataset_spans(path):
    spans = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.id.get_offset() is not None:
                spans.append((obj.id.get_offset(), obj.id.get_storage_size()))
        f.visititems(visit)
    return spans


@pytest.mark.parametrize("kind", ["keras", "hf"])
def test_h5_truncations_at_every_boundary(kind, h5_files, tmp_path):
    src = h5_files[kind]
    raw = src.read_bytes()
    rng = random.Random(3)
    cuts = set(capped(h5_boundaries(src), len(raw), 8))
    cuts |= {rng.randrange(len(raw)) for _ in range(SAMPLE)}
    for cut in sorted(cuts):
        path = tmp_path / "cut.h5"
        path.write_bytes(raw[:cut])
        for args in (("inspect", path), ("dump", path, tmp_path / "out", "--force")):
            run = run_limited(*args)
            # libhdf5 knows the file's end from the superblock, so a shorter file never passes.
            check_refused(run, path, offset=False)


@pytest.mark.parametrize("kind", ["keras", "hf"])
def test_h5_flips_end_cleanly(kind, h5_files, tmp_path):
    """HDF5 1.10 metadata carries no checksums in these files: a flip may go unnoticed, but it
    must never crash, hang or exhaust memory."""
    src = h5_files[kind]
    raw = src.read_bytes()
    rng = random.Random(4)
    slow = []
    points = set(h5_boundaries(src))
    for off, size in dataset_spans(src):
        points.add(off + size // 2)
    points = set(capped(points, len(raw), 9))
    points |= {p + 2 for p in list(points)}
    points |= {rng.randrange(len(raw)) for _ in range(SAMPLE)}
    for at in sorted(p for p in points if p < len(raw)):
        path = tmp_path / "flip.h5"
        path.write_bytes(flip_bit(raw, at, at % 8))
        run = run_limited("dump", path, tmp_path / "out", "--force")
        check_clean_outcome(run)
        slow.append((run.seconds, at)) if run.seconds > 5 else None
    # A damaged file that sends libhdf5 into a loop is cut off by the probe's deadline (10 s);
    # report how often that happened rather than hide it.
    print(f"{kind}: {len(slow)} flips needed the probe deadline: {slow}")


@pytest.mark.parametrize("kind", ["tf2", "tf1"])
def test_check_verifies_every_bundle_crc(kind, bundles):
    doc = json.loads(run_limited("inspect", "--check", "--json", bundles[kind]).stdout)
    assert doc["check"]["bundle_crc32c_tensors"] == doc["tensor_count"] > 0
    assert doc["check"]["tensors_read"] == doc["tensor_count"]
