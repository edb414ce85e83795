"""Keras 2 / Hugging Face .h5 weights against the real writers and loaders.

What tf-keras 2.15 `save_weights("x.h5")` / `model.save("x.h5")` and transformers 4.57
`TFPreTrainedModel.save_pretrained` (single file and sharded) write, tensorferry reads bit-exactly
(compared with h5py, listing the weights with Keras' own attribute reader); what tensorferry writes
loads with h5py, Keras `load_weights` and transformers `from_pretrained` with identical values.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json
import random
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tf_keras.src.saving.legacy.hdf5_format import load_attributes_from_hdf5_group

from conftest import BIN, dump, inspect_json, run_tf

NUMPY_TO_TENSORFERRY = {
    "float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8", "int16": "i16",
    "int32": "i32", "int64": "i64", "uint8": "u8", "uint16": "u16", "uint32": "u32",
    "uint64": "u64", "bool": "bool", "complex64": "c64", "complex128": "c128",
}


def le_bytes(array):
    array = np.asarray(array)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def keras_weights(path):
    """{tensorferry name: array} for every weight Keras' load_weights reads, in Keras' order."""
    out = {}
    with h5py.File(path, "r") as f:
        root = f if "layer_names" in f.attrs or "layer_names0" in f.attrs else f["model_weights"]
        layers = load_attributes_from_hdf5_group(root, "layer_names")
        if "top_level_model_weights" in root:
            layers = layers + ["top_level_model_weights"]
        for layer in layers:
            group = root[layer]
            for weight in load_attributes_from_hdf5_group(group, "weight_names"):
                out[f"{layer}/{weight}"] = np.asarray(group[weight])
    return out


def assert_dump_matches(dumped, expected, ordered=True):
    if ordered:
        assert list(dumped) == list(expected)
    else:
        assert sorted(dumped) == sorted(expected)
    for name, array in expected.items():
        entry = dumped[name]
        assert entry["dtype"] == NUMPY_TO_TENSORFERRY[array.dtype.name], name
        assert entry["shape"] == list(array.shape), name
        assert entry["bytes"] == le_bytes(array), name


def weights_by_name(model):
    """HF/Keras variables by name without the model scope (which gets _1, _2 suffixes)."""
    return {w.name.split("/", 1)[-1]: w.numpy() for w in model.weights}


def assert_same_weights(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        assert a[name].shape == b[name].shape, name
        assert a[name].tobytes() == b[name].tobytes(), name


# --- a plain Keras model with many layer kinds and dtypes -------------------------------------

class Odd(keras.layers.Layer):
    """Weights of every dtype Keras variables come in, a scalar and an empty one."""

    def build(self, input_shape):
        self.add_weight(name="half", shape=(3, 2), dtype="float16")
        self.add_weight(name="double", shape=(2, 2), dtype="float64")
        self.add_weight(name="count", shape=(), dtype="int64", trainable=False,
                        initializer="zeros")
        self.add_weight(name="ids", shape=(4,), dtype="int32", trainable=False,
                        initializer="zeros")
        self.add_weight(name="flags", shape=(3,), dtype="bool", trainable=False,
                        initializer="zeros")
        self.add_weight(name="empty", shape=(0, 3), initializer="zeros")

    def call(self, x):
        return x


def build_keras_model():
    inputs = keras.Input((5,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(11, 8, name="emb")(inputs)
    x = keras.layers.LayerNormalization(name="ln")(x)
    x = keras.layers.Dropout(0.1, name="drop")(x)
    x = keras.layers.Conv1D(4, 3, padding="same", name="conv")(x)
    inner = keras.Sequential([keras.layers.Dense(6, name="d1"), keras.layers.Dense(3, name="d2")],
                             name="sub")
    x = inner(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = Odd(name="odd")(x)
    outputs = keras.layers.Dense(2, name="out")(x)
    model = keras.Model(inputs, outputs, name="plain")
    # A weight of the model itself: tf-keras saves it under top_level_model_weights.
    model.own = model.add_weight(name="own_scale", shape=(2,), initializer="ones")
    return model


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    values = []
    for w in model.weights:
        dtype = w.dtype.as_numpy_dtype
        if dtype == np.bool_:
            values.append(rng.integers(0, 2, w.shape).astype(bool))
        elif np.issubdtype(dtype, np.integer):
            values.append(rng.integers(-1000, 1000, w.shape).astype(dtype))
        else:
            values.append(rng.standard_normal(w.shape).astype(dtype))
    model.set_weights(values)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras")
    model = build_keras_model()
    randomize(model, 1)
    model.save_weights(str(folder / "k.h5"))
    return folder / "k.h5", model


def test_reads_keras_save_weights_bit_exactly(keras_file, tmp_path):
    path, _ = keras_file
    expected = keras_weights(path)
    # The file exercises what it should: nesting, several dtypes, top-level weights.
    assert "sub/d1/kernel:0" in expected and "top_level_model_weights/own_scale:0" in expected
    assert {a.dtype.name for a in expected.values()} >= {"float16", "float64", "int64", "bool"}
    assert_dump_matches(dump(path, tmp_path / "d"), expected)
    info = inspect_json(path)
    assert info["metadata"]["backend"] == "tensorflow"
    assert info["metadata"]["keras_version"] == keras.__version__
    assert json.loads(info["metadata"]["layer_names"]) == [
        "tokens", "emb", "ln", "drop", "conv", "sub", "bn", "odd", "out"]
    with h5py.File(path, "r") as f:  # zero-copy offsets are the dataset offsets
        for t in info["tensors"]:
            offset = f[t["name"]].id.get_offset()
            if offset is not None:
                assert t["offset"] == offset, t["name"]


def test_written_file_loads_in_keras_and_h5py(keras_file, tmp_path):
    path, model = keras_file
    out = tmp_path / "out.h5"
    run_tf("convert", path, out)
    # h5py sees the same weights, in the same order, bit for bit, and Keras' attributes.
    expected, written = keras_weights(path), keras_weights(out)
    assert list(written) == list(expected)
    for name in expected:
        assert written[name].dtype == expected[name].dtype, name
        assert le_bytes(written[name]) == le_bytes(expected[name]), name
    with h5py.File(out, "r") as f, h5py.File(path, "r") as g:
        # Weightless layers name no tensor, so a plain convert does not carry them over.
        assert load_attributes_from_hdf5_group(f, "layer_names") == [
            "emb", "ln", "conv", "sub", "bn", "odd", "out"]
        assert f.attrs["backend"] == "tensorflow" and f.attrs["keras_version"] == "2.15.1"
        for layer in load_attributes_from_hdf5_group(f, "layer_names"):
            assert (load_attributes_from_hdf5_group(f[layer], "weight_names")
                    == load_attributes_from_hdf5_group(g[layer], "weight_names"))
        for name in written:
            dataset = f[name]
            assert dataset.chunks is None and dataset.compression is None
            assert dataset.dtype.byteorder in "<=|"
    # Keras' topological load_weights into a fresh model of the same architecture.
    fresh = build_keras_model()
    randomize(fresh, 2)
    fresh.load_weights(str(out))
    for a, b in zip(model.weights, fresh.weights):
        assert a.numpy().tobytes() == b.numpy().tobytes(), a.name


def test_whole_model_save_is_read_from_model_weights(tmp_path):
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(3, name="dense")(keras.layers.Dense(5, name="hidden")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_weights)  # slots exist, as after training
    model.save(str(tmp_path / "full.h5"))
    expected = keras_weights(tmp_path / "full.h5")
    assert_dump_matches(dump(tmp_path / "full.h5", tmp_path / "d"), expected)
    meta = inspect_json(tmp_path / "full.h5")["metadata"]
    assert meta["weights_group"] == "/model_weights"
    assert int(meta["optimizer_weights"].split()[0]) >= 5  # iterations + Adam's m, v of 4 weights
    run_tf("convert", tmp_path / "full.h5", tmp_path / "weights.h5")
    fresh = keras.models.clone_model(model)
    fresh.load_weights(str(tmp_path / "weights.h5"))
    for a, b in zip(model.weights, fresh.weights):
        assert a.numpy().tobytes() == b.numpy().tobytes(), a.name


def test_split_name_lists_like_keras(tmp_path):
    # 160 layers x 2 weights with 200-byte names: above Keras' 64512-byte attribute limit, so
    # Keras writes weight_names0, weight_names1, ... as fixed-length strings.
    long = "x" * 190
    inputs = keras.Input((2,))
    inner = keras.Sequential([keras.layers.Dense(1, name=f"{long}{i:03d}") for i in range(160)],
                             name="deep")
    model = keras.Model(inputs, inner(inputs))
    randomize(model, 3)
    model.save_weights(str(tmp_path / "split.h5"))
    with h5py.File(tmp_path / "split.h5", "r") as f:
        keys = sorted(k for k in f["deep"].attrs)
        assert keys[0] == "weight_names0" and "weight_names" not in keys
        assert f["deep"].attrs["weight_names0"].dtype.kind == "S"
    assert_dump_matches(dump(tmp_path / "split.h5", tmp_path / "d"),
                        keras_weights(tmp_path / "split.h5"))
    run_tf("convert", tmp_path / "split.h5", tmp_path / "out.h5")
    with h5py.File(tmp_path / "split.h5", "r") as f, h5py.File(tmp_path / "out.h5", "r") as g:
        assert sorted(g["deep"].attrs) == keys
        for key in keys:
            assert g["deep"].attrs[key].dtype == f["deep"].attrs[key].dtype
            assert list(g["deep"].attrs[key]) == list(f["deep"].attrs[key])
    fresh = keras.Model(inputs, keras.models.clone_model(inner)(inputs))
    fresh.load_weights(str(tmp_path / "out.h5"))
    for a, b in zip(model.weights, fresh.weights):
        assert a.numpy().tobytes() == b.numpy().tobytes()


def test_h5py2_fixed_length_attributes(keras_file, tmp_path):
    path, _ = keras_file
    shutil.copy(path, tmp_path / "old.h5")
    with h5py.File(tmp_path / "old.h5", "r+") as f:
        for group in [f] + [f[k] for k in f]:
            for key in ("layer_names", "weight_names"):
                if key in group.attrs and group.attrs[key].dtype.kind == "O":
                    values = [v.encode() if isinstance(v, str) else v for v in group.attrs[key]]
                    del group.attrs[key]
                    group.attrs[key] = np.array(values, dtype="S")
        assert f.attrs["layer_names"].dtype.kind == "S"
    assert_dump_matches(dump(tmp_path / "old.h5", tmp_path / "d"), keras_weights(path))


# --- h5py-made variants: storage, dtypes, and what must be refused ---------------------------

def write_layer(path, arrays, mode="w", **kwargs):
    """A Keras-layout file with one layer 'odd' holding `arrays` via h5py."""
    with h5py.File(path, mode, **kwargs) as f:
        f.attrs["layer_names"] = [b"odd"]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.15.1"
        group = f.create_group("odd")
        group.attrs["weight_names"] = [name.encode() for name in arrays]
        for name, make in arrays.items():
            make(group, name)


def test_storage_and_dtype_variants(tmp_path):
    rng = np.random.default_rng(4)
    values = {
        "big_endian:0": rng.standard_normal((3, 4)).astype(">f4"),
        "chunked:0": rng.standard_normal((40, 30)).astype("f4"),
        "compact:0": rng.standard_normal((5,)).astype("f8"),
        "half:0": rng.standard_normal((4, 3)).astype("f2"),
        "flags:0": rng.integers(0, 2, 7).astype(bool),
        "complex:0": (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype("c8"),
        "int16_be:0": rng.integers(-300, 300, 6).astype(">i2"),
        "u64:0": rng.integers(0, 2**63, 4, dtype=np.uint64),
        "scalar:0": np.float32(2.5),
        "empty:0": np.zeros((0, 4), np.float32),
    }

    def plain(group, name):
        group.create_dataset(name, data=values[name])

    def chunked(group, name):
        group.create_dataset(name, data=values[name], chunks=(8, 8), compression="gzip",
                             shuffle=True)

    def compact(group, name):
        data = values[name]
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple(data.shape)
        dataset = h5py.h5d.create(group.id, name.encode(), h5py.h5t.IEEE_F64LE, space, dcpl=dcpl)
        dataset.write(h5py.h5s.ALL, h5py.h5s.ALL, data)

    makers = {name: plain for name in values}
    makers.update({"chunked:0": chunked, "compact:0": compact})
    write_layer(tmp_path / "v.h5", makers)
    dumped = dump(tmp_path / "v.h5", tmp_path / "d")
    expected = {f"odd/{name}": np.asarray(v) for name, v in values.items()}
    assert_dump_matches(dumped, expected)
    notes = {t["name"]: t.get("note", "") for t in inspect_json(tmp_path / "v.h5")["tensors"]}
    assert "big-endian" in notes["odd/big_endian:0"] and "deflate" in notes["odd/chunked:0"]
    assert "compact" in notes["odd/compact:0"]

    run_tf("convert", tmp_path / "v.h5", tmp_path / "out.h5")
    with h5py.File(tmp_path / "out.h5", "r") as f:
        for name, value in values.items():
            dataset = f["odd"][name]
            assert dataset.dtype == np.asarray(value).dtype.newbyteorder("<"), name
            assert dataset.chunks is None, name
            assert le_bytes(dataset[()]) == le_bytes(value), name


def test_user_block_offsets(tmp_path):
    data = np.arange(12, dtype="f4").reshape(3, 4)
    write_layer(tmp_path / "u.h5", {"w:0": lambda g, n: g.create_dataset(n, data=data)},
                userblock_size=512)
    dumped = dump(tmp_path / "u.h5", tmp_path / "d", "--format", "keras-h5")
    assert dumped["odd/w:0"]["bytes"] == data.tobytes()


@pytest.mark.parametrize("case", ["lzf", "bfloat16", "string", "soft_link", "external_link",
                                  "external_storage", "missing", "int_attribute"])
def test_refuses_what_it_cannot_read_safely(tmp_path, case):
    import ml_dtypes
    path = tmp_path / "bad.h5"
    (tmp_path / "raw.bin").write_bytes(b"\0" * 64)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(2, "f4")
    makers = {
        "lzf": lambda g, n: g.create_dataset(n, data=np.zeros((4, 4), "f4"), compression="lzf"),
        "bfloat16": lambda g, n: g.create_dataset(
            n, data=np.zeros(3, dtype=ml_dtypes.bfloat16)),
        "string": lambda g, n: g.create_dataset(n, data=np.array([b"ab", b"cd"])),
        "soft_link": lambda g, n: g.__setitem__(n, h5py.SoftLink("/elsewhere")),
        "external_link": lambda g, n: g.__setitem__(
            n, h5py.ExternalLink(str(tmp_path / "other.h5"), "/x")),
        "external_storage": lambda g, n: g.create_dataset(
            n, shape=(4,), dtype="f4", external=[(str(tmp_path / "raw.bin"), 0, 16)]),
        "missing": lambda g, n: None,
        "int_attribute": lambda g, n: g.attrs.__setitem__("weight_names", np.arange(2)),
    }
    write_layer(path, {"w:0": makers[case]})
    if case == "soft_link":
        with h5py.File(path, "r+") as f:
            f["elsewhere"] = np.zeros(2, "f4")
    proc = run_tf("dump", path, tmp_path / "d", check=False)
    assert proc.returncode == 3, proc.stderr
    assert "bad.h5" in proc.stderr
    expected_words = {"lzf": "lzf", "bfloat16": "opaque", "string": "string",
                      "soft_link": "link", "external_link": "link",
                      "external_storage": "external", "missing": "no dataset",
                      "int_attribute": "not strings"}
    assert expected_words[case] in proc.stderr


def test_corrupt_files_never_crash(keras_file, tmp_path):
    path, _ = keras_file
    good = path.read_bytes()
    rng = random.Random(5)
    variants = [good[:n] for n in range(0, len(good), 1171)]
    for _ in range(60):
        damaged = bytearray(good)
        at = rng.randrange(min(len(good), 10000))  # the metadata lies in front of the data
        damaged[at] ^= 1 << rng.randrange(8)
        variants.append(bytes(damaged))
    outcomes = {}
    for i, data in enumerate(variants):
        (tmp_path / "bad.h5").write_bytes(data)
        proc = subprocess.run([str(BIN), "dump", "--format", "keras-h5", tmp_path / "bad.h5",
                               tmp_path / f"d{i}"], capture_output=True, text=True, timeout=120)
        assert proc.returncode in (0, 3), (i, proc.returncode, proc.stderr)
        outcomes[proc.returncode] = outcomes.get(proc.returncode, 0) + 1
    assert outcomes.get(3, 0) > len(variants) // 3  # the damage was noticed, not ignored


# --- Hugging Face ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    from transformers import (BertConfig, GPT2Config, TFBertForPreTraining,
                              TFGPT2LMHeadModel)
    folder = tmp_path_factory.mktemp("hf")
    gpt2 = TFGPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100,
                                        n_positions=16))
    gpt2(tf.constant([[1, 2, 3]]))
    randomize(gpt2, 6)
    gpt2.save_pretrained(folder / "gpt2")
    gpt2.save_pretrained(folder / "gpt2_sharded", max_shard_size="20KB")
    bert = TFBertForPreTraining(BertConfig(num_hidden_layers=2, hidden_size=32,
                                           num_attention_heads=2, intermediate_size=37,
                                           vocab_size=99, max_position_embeddings=16))
    bert(tf.constant([[1, 2, 3]]))
    randomize(bert, 7)
    bert.save_pretrained(folder / "bert")
    bert.save_pretrained(folder / "bert_sharded", max_shard_size="30KB")
    return {"gpt2": (TFGPT2LMHeadModel, gpt2, folder / "gpt2", folder / "gpt2_sharded"),
            "bert": (TFBertForPreTraining, bert, folder / "bert", folder / "bert_sharded")}


def hf_sharded_expected(folder):
    """What tensorferry names each weight of an HF sharded save: '<layer>/<index key>'."""
    index = json.loads((folder / "tf_model.h5.index.json").read_text())
    expected = {}
    for key, shard in index["weight_map"].items():
        dataset = key.split("/", 1)[1] if "model." not in key and "/" in key else key
        with h5py.File(folder / shard, "r") as f:
            assert dataset in load_attributes_from_hdf5_group(f, "layer_names")
            expected[f"{dataset.split('/')[0]}/{key}"] = np.asarray(f[dataset])
    return expected


def load_hf(cls, folder, source_folder, tied_copies_missing=False):
    shutil.copy(source_folder / "config.json", folder / "config.json")
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    missing = info["missing_keys"]
    if tied_copies_missing:
        # A sharded save stores BERT's tied embeddings once; in a single file transformers looks
        # for them under mlm___cls too and lists those copies as missing, though the values load
        # from the bert group (checked by the caller).
        missing = [k for k in missing if not k.startswith("bert/embeddings/")]
    assert not missing and not info["unexpected_keys"], info
    assert not info["mismatched_keys"], info
    return model


@pytest.mark.parametrize("family", ["gpt2", "bert"])
def test_reads_hf_tf_model_h5(hf_models, family, tmp_path):
    _, _, folder, sharded = hf_models[family]
    single = keras_weights(folder / "tf_model.h5")
    assert_dump_matches(dump(folder, tmp_path / "single"), single)
    # The sharded save of the same model reads under the same names (minus the tied copies
    # BERT's mlm___cls group repeats in the single file), with the same bytes.
    assert len(json.loads((sharded / "tf_model.h5.index.json").read_text())["weight_map"]) > 1
    sharded_dump = dump(sharded, tmp_path / "sharded")
    assert_dump_matches(sharded_dump, hf_sharded_expected(sharded), ordered=False)
    for name, entry in sharded_dump.items():
        assert entry["bytes"] == le_bytes(single[name]), name
    duplicates = set(single) - set(sharded_dump)
    if family == "bert":
        assert duplicates and all(n.startswith("mlm___cls/") for n in duplicates)
    else:
        assert not duplicates


@pytest.mark.parametrize("family", ["gpt2", "bert"])
def test_written_tf_model_h5_loads_in_transformers(hf_models, family, tmp_path):
    cls, model, folder, _ = hf_models[family]
    run_tf("convert", folder / "tf_model.h5", tmp_path / "out", "--format", "keras-h5")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tf_model.h5"]
    loaded = load_hf(cls, tmp_path / "out", folder)
    assert_same_weights(weights_by_name(model), weights_by_name(loaded))


@pytest.mark.parametrize("family,shard_size", [("gpt2", "20KB"), ("bert", "30KB")])
def test_writes_hf_sharded_layout(hf_models, family, shard_size, tmp_path):
    cls, model, folder, hf_sharded = hf_models[family]
    out = tmp_path / "out"
    out.mkdir()
    run_tf("convert", folder / "tf_model.h5", out / "tf_model.h5", "--shard-size", shard_size)
    # The same shards as HF's own sharded save of the same model: index byte for byte, and in
    # each shard the same layer_names and datasets.
    assert ((out / "tf_model.h5.index.json").read_bytes()
            == (hf_sharded / "tf_model.h5.index.json").read_bytes())
    index = json.loads((out / "tf_model.h5.index.json").read_text())
    for shard in sorted(set(index["weight_map"].values())):
        with h5py.File(out / shard, "r") as ours, h5py.File(hf_sharded / shard, "r") as theirs:
            names = load_attributes_from_hdf5_group(theirs, "layer_names")
            assert load_attributes_from_hdf5_group(ours, "layer_names") == names
            assert sorted(ours.attrs) == sorted(theirs.attrs) == ["layer_names"]
            for name in names:
                assert ours[name].dtype == theirs[name].dtype
                assert le_bytes(ours[name][()]) == le_bytes(theirs[name][()]), name
    loaded = load_hf(cls, out, folder)
    assert_same_weights(weights_by_name(model), weights_by_name(loaded))


@pytest.mark.parametrize("family", ["gpt2", "bert"])
def test_sharded_to_single_and_back(hf_models, family, tmp_path):
    cls, model, folder, hf_sharded = hf_models[family]
    run_tf("convert", hf_sharded, tmp_path / "single", "--format", "keras-h5")
    loaded = load_hf(cls, tmp_path / "single", folder, tied_copies_missing=family == "bert")
    assert_same_weights(weights_by_name(model), weights_by_name(loaded))
    (tmp_path / "resharded").mkdir()
    run_tf("convert", hf_sharded, tmp_path / "resharded" / "tf_model.h5", "--shard-size",
           "20KB")
    assert_dump_matches(dump(tmp_path / "resharded", tmp_path / "d"),
                        hf_sharded_expected(hf_sharded), ordered=False)
