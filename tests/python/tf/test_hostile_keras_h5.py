"""Hostile Keras/HF .h5 weight files: the attributes the reader trusts (layer_names,
weight_names) with the wrong types or lying contents, links that leave the file, data stored
outside it, datasets whose declared size dwarfs the file, and filter-pipeline bombs. Built by
editing a real Keras save_weights file with h5py. Each must exit 3 naming the file (and the
tensor, where one is at fault), within 20 s and bounded memory.

HDF5 addresses are not exposed for attributes by libhdf5, so these messages name the object
path instead of a byte offset (see docs/hardening.md).
"""
import shutil

import h5py
import numpy as np
import pytest
import tensorflow as tf

from support.hostile import MAX_RSS_KB, RSS_FACTOR, check_refused, every_command, run_limited


@pytest.fixture(scope="module")
def keras_h5(tmp_path_factory):
    d = tmp_path_factory.mktemp("keras")
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, name="dense")])
    model.save_weights(str(d / "w.h5"))
    return d / "w.h5"


def edit_layer_names_int(f):
    del f.attrs["layer_names"]
    f.attrs["layer_names"] = np.array([1, 2, 3], dtype=np.int32)


def edit_layer_names_float_scalar(f):
    del f.attrs["layer_names"]
    f.attrs["layer_names"] = 3.5


def edit_weight_names_int(f):
    g = f["dense"]
    del g.attrs["weight_names"]
    g.attrs["weight_names"] = np.array([7, 8], dtype=np.int64)


def edit_weight_names_2d(f):
    g = f["dense"]
    names = list(g.attrs["weight_names"])
    del g.attrs["weight_names"]
    g.attrs["weight_names"] = np.array([names, names], dtype="S")


def edit_layer_names_missing_group(f):
    f.attrs["layer_names"] = np.array([b"dense", b"ghost"])


def edit_layer_names_traversal(f):
    f.attrs["layer_names"] = np.array([b"../../etc"])


def edit_weight_names_missing(f):
    f["dense"].attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/nowhere:0"])


def edit_weight_names_absolute(f):
    f["dense"].attrs["weight_names"] = np.array([b"/dense/dense/kernel:0"])


def edit_layer_names_huge(f):
    # As many names as fit an object header (64 KiB), none of them a group.
    f.attrs["layer_names"] = np.array([b"x%039d" % i for i in range(1500)])


def edit_external_link(f):
    del f["dense/dense/kernel:0"]
    f["dense/dense/kernel:0"] = h5py.ExternalLink("/etc/passwd", "/")


def edit_soft_link_loop(f):
    del f["dense/dense/kernel:0"]
    f["dense/dense/kernel:0"] = h5py.SoftLink("/dense/dense/kernel:0")


def edit_external_storage(f):
    del f["dense/dense/kernel:0"]
    f.create_dataset("dense/dense/kernel:0", shape=(4, 3), dtype="f4",
                     external=[("/etc/passwd", 0, 48)])


def edit_huge_declared(f):
    # Chunked, never written: 2^40 floats "stored" in a file of a few KiB.
    del f["dense/dense/kernel:0"]
    f.create_dataset("dense/dense/kernel:0", shape=(1 << 20, 1 << 20), dtype="f4",
                     chunks=(1, 1024))


def edit_gzip_bomb(f):
    # 1 GiB of zeros compressed into about a megabyte: refused, not inflated.
    del f["dense/dense/kernel:0"]
    d = f.create_dataset("dense/dense/kernel:0", shape=(1 << 28,), dtype="f4",
                         chunks=(1 << 20,), compression="gzip")
    d[:1 << 20] = 0


def edit_string_dataset(f):
    del f["dense/dense/kernel:0"]
    f.create_dataset("dense/dense/kernel:0", data=np.array([b"a", b"b"]))


def edit_compound_dataset(f):
    del f["dense/dense/kernel:0"]
    f.create_dataset("dense/dense/kernel:0",
                     data=np.zeros(3, dtype=[("a", "f4"), ("b", "i4")]))


def edit_dataset_is_group(f):
    del f["dense/dense/kernel:0"]
    f.create_group("dense/dense/kernel:0")


def edit_null_dataspace(f):
    del f["dense/dense/kernel:0"]
    f.create_dataset("dense/dense/kernel:0", data=h5py.Empty("f4"))


EDITS = {name[5:]: fn for name, fn in globals().items() if name.startswith("edit_")}
TENSOR_AT_FAULT = {"external_link", "soft_link_loop", "external_storage", "huge_declared",
                   "gzip_bomb", "string_dataset", "compound_dataset", "dataset_is_group",
                   "null_dataspace"}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_hostile_h5_is_refused(name, keras_h5, tmp_path):
    path = tmp_path / "evil.h5"
    shutil.copy(keras_h5, path)
    with h5py.File(path, "r+") as f:
        EDITS[name](f)
    for run in every_command(path, tmp_path):
        check_refused(run, path, offset=False)
        if name in TENSOR_AT_FAULT:
            assert "tensor 'dense/dense/kernel:0'" in run.stderr, run.describe()
        if name == "weight_names_missing":
            assert "tensor 'dense/dense/nowhere:0'" in run.stderr, run.describe()


def test_inspect_does_not_inflate_compressed_data(keras_h5, tmp_path):
    """inspect reads headers only: a 512 MiB gzip dataset (a legal one, ~100:1) used to be
    inflated by the libhdf5 probe at open (553 MB, 3.2 s). Its decoding is now probed when it is
    first read, and inspect reads none."""
    path = tmp_path / "big.h5"
    shutil.copy(keras_h5, path)
    n, chunk = 1 << 27, 1 << 20  # 512 MiB of float32
    block = np.repeat(np.arange(chunk // 64, dtype=np.float32), 64)
    with h5py.File(path, "r+") as f:
        del f["dense/dense/kernel:0"]
        d = f.create_dataset("dense/dense/kernel:0", shape=(n,), dtype="f4", chunks=(chunk,),
                             compression="gzip", compression_opts=1)
        for i in range(0, n, chunk):
            d[i:i + chunk] = block
    assert path.stat().st_size < (512 << 20) // 20  # compressed, so only inflating costs memory
    run = run_limited("inspect", path)
    assert run.returncode == 0, run.describe()
    assert "dense/dense/kernel:0" in run.stdout, run.describe()
    assert run.max_rss_kb < MAX_RSS_KB * RSS_FACTOR, "inflated: " + run.describe()

