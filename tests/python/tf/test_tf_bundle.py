"""TensorFlow checkpoints (tensor bundle V2) against real TensorFlow: what TF writes tensorferry
reads bit-exactly, and what tensorferry writes TF restores bit-exactly. TensorFlow only (no torch
in this process); the multi-device sharded save runs in a subprocess because logical devices must
be configured before TensorFlow initialises."""
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import BIN, dump, inspect_json, run_python, run_tf

STRINGS = [b"hello", b"", b"w\x00rld", b"z" * 200, bytes(range(256)) * 300]


def decode_strings(raw):
    """tensorferry's string encoding: per element u64 LE length, then the bytes."""
    out, pos = [], 0
    while pos < len(raw):
        (length,) = struct.unpack_from("<Q", raw, pos)
        out.append(raw[pos + 8:pos + 8 + length])
        pos += 8 + length
    return out


def same_value(a, b):
    """Bit-exact for numbers (so -0.0 and NaN payloads count), element-wise for strings."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return a.shape == b.shape and list(a.reshape(-1)) == list(b.reshape(-1))
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_dump_matches_tf(prefix, dumped):
    """Every tensor TF lists is in `dumped` with the same dtype, shape and bytes."""
    reader = tf.train.load_checkpoint(str(prefix))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    assert set(dumped) == set(shapes)
    for name, shape in shapes.items():
        entry, value = dumped[name], reader.get_tensor(name)
        assert entry["shape"] == list(shape), name
        if dtypes[name] == tf.string:
            assert entry["dtype"] == "string"
            expected = [value] if np.ndim(value) == 0 else list(np.asarray(value).reshape(-1))
            assert decode_strings(entry["bytes"]) == expected, name
        else:
            assert entry["dtype"] == TF_TO_TENSORFERRY[dtypes[name]], name
            assert entry["bytes"] == np.asarray(value).tobytes(), name


TF_TO_TENSORFERRY = {
    tf.float32: "f32", tf.float64: "f64", tf.float16: "f16", tf.bfloat16: "bf16",
    tf.int8: "i8", tf.int16: "i16", tf.int32: "i32", tf.int64: "i64", tf.uint8: "u8",
    tf.uint16: "u16", tf.uint32: "u32", tf.uint64: "u64", tf.bool: "bool",
    tf.complex64: "c64", tf.complex128: "c128",
    tf.dtypes.experimental.float8_e4m3fn: "f8_e4m3fn", tf.dtypes.experimental.float8_e5m2: "f8_e5m2",
}

# TF1 graph of tests: (name, dtype, initial value)
TF1_VARIABLES = [
    ("dense/kernel", tf.float32, np.arange(12, dtype=np.float32).reshape(3, 4) / 7),
    ("dense/bias", tf.float32, np.linspace(-1, 1, 4, dtype=np.float32)),
    ("emb/half", tf.float16, np.array([0.1, -2.5, 65504.0], np.float16)),
    ("emb/bf16", tf.bfloat16, np.array([1.5, -2.0, 3.140625], np.float32)),
    ("flags", tf.bool, np.array([True, False, True])),
    ("counts", tf.int32, np.array([[1, -2], [3, 2**31 - 1]], np.int32)),
    ("vocab", tf.string, np.array(STRINGS, dtype=object)),
]


def build_tf1_graph():
    variables = {}
    for name, dtype, value in TF1_VARIABLES:
        variables[name] = tf.compat.v1.get_variable(
            name, initializer=tf.constant(value, dtype=dtype), dtype=dtype)
    return variables


@pytest.fixture(scope="module")
def tf1_ckpt(tmp_path_factory):
    """A TF1 name-based checkpoint from tf.compat.v1.train.Saver, one Adam step taken."""
    folder = tmp_path_factory.mktemp("tf1")
    with tf.Graph().as_default():
        variables = build_tf1_graph()
        step = tf.compat.v1.train.get_or_create_global_step()
        loss = tf.reduce_sum(variables["dense/kernel"] ** 2) + tf.reduce_sum(variables["dense/bias"])
        train = tf.compat.v1.train.AdamOptimizer(0.1).minimize(loss, global_step=step)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            sess.run(train)
            prefix = saver.save(sess, str(folder / "model.ckpt"), global_step=step)
    return Path(prefix)


@pytest.fixture(scope="module")
def every_dtype_ckpt(tmp_path_factory):
    """Every dtype TF stores, written by TF's own SaveV2 kernel (what every saver calls)."""
    prefix = tmp_path_factory.mktemp("dtypes") / "all"
    names, tensors = [], []
    for dtype in TF_TO_TENSORFERRY:
        if dtype.is_bool:
            value = tf.constant([[True, False, True], [False, False, True]])
        elif dtype.is_complex:
            real = tf.constant([[1.5, -2.0, 3.0], [0.0, 1e-3, -7.0]], dtype.real_dtype)
            value = tf.complex(real, real * 0.5 - 1)
        elif dtype.is_floating:
            value = tf.cast(tf.constant([[1.5, -2.0, 3.0], [0.0, 0.25, -7.0]]), dtype)
        else:
            value = tf.constant([[1, 2, 3], [dtype.max, dtype.min, 0]], dtype)
        names.append(dtype.name)
        tensors.append(value)
    extra = {
        "scalar_f64": tf.constant(np.pi, tf.float64),
        "empty_f32": tf.zeros([0, 5], tf.float32),
        "strings": tf.constant(np.array(STRINGS, dtype=object).reshape(5, 1)),
        "string_scalar": tf.constant(b"scalar"),
        "strings_empty": tf.constant([], tf.string),
    }
    names += list(extra)
    tensors += list(extra.values())
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=tensors)
    return prefix


SHARDED_SAVE = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
folder = sys.argv[1]
cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 3)
with tf.Graph().as_default():
    with tf.device("/cpu:0"):
        a = tf.compat.v1.get_variable("a/kernel", initializer=np.arange(6, dtype=np.float32).reshape(2, 3))
        s = tf.compat.v1.get_variable("a/words", initializer=tf.constant([b"x", b"", b"yz"]))
    with tf.device("/cpu:1"):
        b = tf.compat.v1.get_variable("b/half", initializer=tf.constant([1.0, -0.5], tf.float16))
        c = tf.compat.v1.get_variable("b/bf16", initializer=tf.constant([2.0, 0.125], tf.bfloat16))
    with tf.device("/cpu:2"):
        d = tf.compat.v1.get_variable("c/flags", initializer=tf.constant([True, False]))
        e = tf.compat.v1.get_variable("c/i64", initializer=tf.constant([2**40, -3], tf.int64))
    saver = tf.compat.v1.train.Saver(sharded=True)
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        prefix = saver.save(sess, os.path.join(folder, "model.ckpt"))
print(json.dumps(prefix))
"""


@pytest.fixture(scope="module")
def sharded_tf1_ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sharded")
    prefix = Path(run_python(SHARDED_SAVE, folder))
    shards = sorted(folder.glob("model.ckpt.data-*"))
    assert len(shards) == 3, shards
    return prefix


class Dense(tf.Module):
    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) / 3, name="kernel")
        self.bias = tf.Variable(tf.constant([0.5, -1.0, 2.0], tf.bfloat16), name="bias")


def make_tf2_objects():
    model = tf.Module()
    model.dense = Dense()
    # A local name with a dot and a slash exercises the key escaping ("." -> "..", "/" -> ".S").
    setattr(model, "odd.name/x", tf.Variable([1, 2, 3], dtype=tf.int64))
    model.tokens = tf.Variable(tf.constant([b"a", b"bc"]))
    optimizer = tf.keras.optimizers.legacy.Adam(0.1)
    return model, optimizer


@pytest.fixture(scope="module")
def tf2_ckpt(tmp_path_factory):
    """An object-based checkpoint from tf.train.Checkpoint.save, with legacy Adam slot variables."""
    folder = tmp_path_factory.mktemp("tf2")
    model, optimizer = make_tf2_objects()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model.dense.kernel ** 2) + tf.reduce_sum(
            tf.cast(model.dense.bias, tf.float32))
    variables = [model.dense.kernel]
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    return Path(checkpoint.save(str(folder / "ckpt")))


@pytest.fixture(scope="module")
def keras_ckpt(tmp_path_factory):
    """Keras model.save_weights in TF format, after a fit step with the (new) Keras Adam."""
    folder = tmp_path_factory.mktemp("keras")
    model = tf.keras.Sequential([tf.keras.layers.Dense(4, input_shape=(3,)),
                                 tf.keras.layers.LayerNormalization(),
                                 tf.keras.layers.Dense(2)])
    model.compile(optimizer=tf.keras.optimizers.Adam(), loss="mse")
    model.fit(np.ones((8, 3), np.float32), np.ones((8, 2), np.float32), epochs=1, verbose=0)
    model.save_weights(str(folder / "weights"))
    return folder / "weights"


def roles(dumped):
    return {name: entry["role"] for name, entry in dumped.items()}


# ---------------------------------------------------------------------------------------------
# Reading what TensorFlow writes


def test_reads_tf1_saver_checkpoint_bit_exact(tf1_ckpt, tmp_path):
    dumped = dump(tf1_ckpt, tmp_path / "dump")
    assert_dump_matches_tf(tf1_ckpt, dumped)
    r = roles(dumped)
    assert r["dense/kernel"] == r["vocab"] == r["emb/bf16"] == "weight"
    assert r["dense/kernel/Adam"] == r["dense/kernel/Adam_1"] == "optimizer-slot"
    assert r["beta1_power"] == r["beta2_power"] == "optimizer-slot"
    assert r["global_step"] == "counter"
    assert decode_strings(dumped["vocab"]["bytes"]) == STRINGS


def test_reads_every_dtype_bit_exact(every_dtype_ckpt, tmp_path):
    dumped = dump(every_dtype_ckpt, tmp_path / "dump")
    assert_dump_matches_tf(every_dtype_ckpt, dumped)
    assert {dumped[d.name]["dtype"] for d in TF_TO_TENSORFERRY} == set(TF_TO_TENSORFERRY.values())
    assert decode_strings(dumped["strings_empty"]["bytes"]) == []
    info = {t["name"]: t for t in inspect_json(every_dtype_ckpt)["tensors"]}
    # nbytes of a string tensor is the size of tensorferry's encoding.
    assert info["strings"]["nbytes"] == 8 * len(STRINGS) + sum(map(len, STRINGS))


def test_reads_multi_shard_checkpoint(sharded_tf1_ckpt, tmp_path):
    dumped = dump(sharded_tf1_ckpt, tmp_path / "dump")
    assert_dump_matches_tf(sharded_tf1_ckpt, dumped)
    files = {Path(t["file"]).name for t in inspect_json(sharded_tf1_ckpt)["tensors"]}
    assert len(files) == 3


def test_reads_tf2_checkpoint_with_object_graph(tf2_ckpt, tmp_path):
    dumped = dump(tf2_ckpt, tmp_path / "dump")
    assert_dump_matches_tf(tf2_ckpt, dumped)
    r = roles(dumped)
    assert r["_CHECKPOINTABLE_OBJECT_GRAPH"] == "object-graph"
    assert r["save_counter/.ATTRIBUTES/VARIABLE_VALUE"] == "counter"
    assert r["optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"] == "counter"
    assert r["optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE"] == "optimizer-slot"
    assert r["model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"] == "weight"
    assert r["model/odd..name.Sx/.ATTRIBUTES/VARIABLE_VALUE"] == "weight"
    slots = [n for n in r if ".OPTIMIZER_SLOT" in n]
    assert len(slots) == 2 and all(r[n] == "optimizer-slot" for n in slots)
    weights = {n for n, role in r.items() if role == "weight"}
    assert weights == {"model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                       "model/dense/bias/.ATTRIBUTES/VARIABLE_VALUE",
                       "model/odd..name.Sx/.ATTRIBUTES/VARIABLE_VALUE",
                       "model/tokens/.ATTRIBUTES/VARIABLE_VALUE"}


def test_reads_keras_save_weights(keras_ckpt, tmp_path):
    dumped = dump(keras_ckpt, tmp_path / "dump")
    assert_dump_matches_tf(keras_ckpt, dumped)
    r = roles(dumped)
    weights = sorted(n for n, role in r.items() if role == "weight")
    assert weights == sorted(
        f"layer_with_weights-{i}/{v}/.ATTRIBUTES/VARIABLE_VALUE"
        for i, vs in enumerate([("kernel", "bias"), ("gamma", "beta"), ("kernel", "bias")])
        for v in vs)
    assert r["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == "counter"
    slots = [n for n in r if n.startswith("optimizer/_variables/")]
    assert len(slots) == 12 and all(r[n] == "optimizer-slot" for n in slots)


def test_inspect_by_prefix_index_file_and_folder(tf1_ckpt, tf2_ckpt, tmp_path):
    for prefix in (tf1_ckpt, tf2_ckpt):
        by_prefix = inspect_json(prefix)["tensors"]
        assert inspect_json(f"{prefix}.index")["tensors"] == by_prefix
        assert inspect_json(prefix.parent)["tensors"] == by_prefix  # via the `checkpoint` file
    # TF1 Saver wrote an absolute path into `checkpoint`; a moved folder still opens, and reads
    # its own bundle (the same name inside the folder), not the one the stale path points to.
    assert "model_checkpoint_path: \"/" in (tf1_ckpt.parent / "checkpoint").read_text()
    moved = tmp_path / "moved"
    shutil.copytree(tf1_ckpt.parent, tmp_path / "copy")
    (tmp_path / "copy").rename(moved)
    in_moved = inspect_json(moved)["tensors"]
    assert all(Path(t["file"]).parent == moved for t in in_moved)

    def without_file(tensors):
        return [{k: v for k, v in t.items() if k != "file"} for t in tensors]

    assert without_file(in_moved) == without_file(inspect_json(tf1_ckpt)["tensors"])


# ---------------------------------------------------------------------------------------------
# TensorFlow reading what tensorferry writes


def test_converted_tf1_checkpoint_restores_with_saver(tf1_ckpt, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_tf("convert", tf1_ckpt, out / "model.ckpt")
    # TF's own bytes, reproduced exactly (same tensors, same data order, same table layout).
    for suffix in (".index", ".data-00000-of-00001"):
        assert (out / f"model.ckpt{suffix}").read_bytes() == Path(f"{tf1_ckpt}{suffix}").read_bytes()
    assert tf.train.latest_checkpoint(str(out)) == str(out / "model.ckpt")
    assert tf.train.list_variables(str(out)) == tf.train.list_variables(str(tf1_ckpt))
    original = tf.train.load_checkpoint(str(tf1_ckpt))
    with tf.Graph().as_default():
        variables = build_tf1_graph()
        with tf.compat.v1.Session() as sess:
            tf.compat.v1.train.Saver(variables).restore(sess, str(out / "model.ckpt"))
            for name, value in zip(variables, sess.run(list(variables.values()))):
                assert same_value(value, original.get_tensor(name)), name


def test_every_dtype_written_loads_bit_exact(every_dtype_ckpt, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_tf("convert", every_dtype_ckpt, out / "all.ckpt")
    # More than 16 keys: the index has a second restart point, still byte-identical to TF's.
    for suffix in (".index", ".data-00000-of-00001"):
        assert (out / f"all.ckpt{suffix}").read_bytes() == \
            Path(f"{every_dtype_ckpt}{suffix}").read_bytes(), suffix
    original = tf.train.load_checkpoint(str(every_dtype_ckpt))
    written = tf.train.load_checkpoint(str(out / "all.ckpt"))
    assert written.get_variable_to_dtype_map() == original.get_variable_to_dtype_map()
    assert written.get_variable_to_shape_map() == original.get_variable_to_shape_map()
    for name in original.get_variable_to_dtype_map():
        assert same_value(original.get_tensor(name), written.get_tensor(name)), name
    # SaveV2's restore op (what Saver and Checkpoint run) reads every dtype too.
    names = list(original.get_variable_to_dtype_map())
    dtypes = [original.get_variable_to_dtype_map()[n] for n in names]
    restored = tf.raw_ops.RestoreV2(prefix=str(out / "all.ckpt"), tensor_names=names,
                                    shape_and_slices=[""] * len(names), dtypes=dtypes)
    for name, tensor in zip(names, restored):
        expected = original.get_tensor(name)
        assert same_value(tensor.numpy(), expected), name


def test_sharded_output_loads(sharded_tf1_ckpt, tf1_ckpt, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_tf("convert", tf1_ckpt, out / "model.ckpt", "--shard-size", "64")
    shards = sorted(out.glob("model.ckpt.data-*"))
    assert len(shards) >= 3
    assert all(p.name.endswith(f"-of-{len(shards):05d}") for p in shards)
    assert tf.train.list_variables(str(out)) == tf.train.list_variables(str(tf1_ckpt))
    written, original = tf.train.load_checkpoint(str(out)), tf.train.load_checkpoint(str(tf1_ckpt))
    for name in original.get_variable_to_shape_map():
        assert same_value(written.get_tensor(name), original.get_tensor(name)), name
    # A TF multi-device bundle written back as one shard, and read back by TF.
    run_tf("convert", sharded_tf1_ckpt, out / "single.ckpt")
    single = tf.train.load_checkpoint(str(out / "single.ckpt"))
    source = tf.train.load_checkpoint(str(sharded_tf1_ckpt))
    for name in source.get_variable_to_shape_map():
        assert same_value(single.get_tensor(name), source.get_tensor(name)), name


def test_converted_tf2_checkpoint_restores_into_objects(tf2_ckpt, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run_tf("convert", tf2_ckpt, out / "model.ckpt")
    model, optimizer = make_tf2_objects()
    # Create the optimizer's variables so that every saved value has an object to go to.
    optimizer.apply_gradients([(tf.zeros_like(model.dense.kernel), model.dense.kernel)])
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    checkpoint.restore(tf.train.latest_checkpoint(str(out))).assert_consumed()
    assert int(optimizer.iterations.numpy()) == 1
    original = tf.train.load_checkpoint(str(tf2_ckpt))
    assert model.dense.kernel.numpy().tobytes() == \
        original.get_tensor("model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE").tobytes()
    assert getattr(model, "odd.name/x").numpy().tolist() == [1, 2, 3]
    assert int(checkpoint.save_counter.numpy()) == 1


def test_object_based_writer_restores_with_checkpoint_and_saver(tmp_path):
    """Bundles written through the C++ API (tensorferry_tests writes them when told where):
    an object-based one that tf.train.Checkpoint(...).restore() consumes completely, and a
    name-based one in two shards that Saver restores."""
    tests_binary = Path(BIN).parent / "tensorferry_tests"
    assert tests_binary.exists(), f"{tests_binary} not built"
    env = dict(os.environ, TENSORFERRY_TF_EXPORT_DIR=str(tmp_path))
    proc = subprocess.run([str(tests_binary), "--gtest_filter=TfBundleExport.*"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = {
        "kernel": np.array([[0.5, -1, 2], [3.25, 4, 5]], np.float32),
        "bias": np.array([1, 2, -1], np.float16),
        "step": np.int64(42),
        "mask": np.array([[True, False], [False, True]]),
        "tokens": np.array([b"tensor", b"ferry\x00"], dtype=object),
    }
    nested_expected = tf.constant([3.140625, -2.0], tf.bfloat16).numpy()

    values = {k: tf.Variable(tf.zeros_like(tf.constant(v))) for k, v in expected.items()}
    nested = tf.Module()
    nested.dense = tf.Module()
    nested.dense.kernel = tf.Variable(tf.zeros([2], tf.bfloat16))
    checkpoint = tf.train.Checkpoint(nested=nested, **values)
    checkpoint.restore(tf.train.latest_checkpoint(str(tmp_path / "object"))).assert_consumed()
    for name, value in expected.items():
        assert same_value(values[name].numpy(), value), name
    assert nested.dense.kernel.numpy().tobytes() == nested_expected.tobytes()
    assert int(checkpoint.save_counter.numpy()) == 1

    assert len(list((tmp_path / "names").glob("model.ckpt.data-*-of-00002"))) == 2
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, shape=np.shape(v),
                                               dtype=tf.as_dtype(np.asarray(v).dtype)
                                               if name != "tokens" else tf.string)
                     for name, v in expected.items()]
        variables.append(tf.compat.v1.get_variable("nested/dense/kernel", shape=[2],
                                                   dtype=tf.bfloat16))
        with tf.compat.v1.Session() as sess:
            saver = tf.compat.v1.train.Saver(variables)
            saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path / "names")))
            restored = sess.run(variables)
    for (name, value), got in zip(expected.items(), restored):
        assert same_value(got, value), name
    assert restored[-1].tobytes() == nested_expected.tobytes()


# ---------------------------------------------------------------------------------------------
# Damaged files


def copy_bundle(prefix, folder):
    folder.mkdir()
    for f in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        shutil.copy(f, folder / f.name)
    return folder / Path(prefix).name


def test_flipped_data_byte_is_a_checksum_error_naming_the_tensor(tf1_ckpt, tmp_path):
    prefix = copy_bundle(tf1_ckpt, tmp_path / "bad")
    kernel = next(t for t in inspect_json(prefix)["tensors"] if t["name"] == "dense/kernel")
    data = Path(kernel["file"])
    raw = bytearray(data.read_bytes())
    raw[kernel["offset"] + 5] ^= 0x10
    data.write_bytes(bytes(raw))
    with pytest.raises(tf.errors.OpError, match="Checksum does not match"):  # TF agrees
        tf.train.load_checkpoint(str(prefix)).get_tensor("dense/kernel")
    for command in (["dump", prefix, tmp_path / "dump"], ["convert", prefix, tmp_path / "x.ckpt"]):
        proc = run_tf(*command, check=False)
        assert proc.returncode == 3, proc.stderr
        assert "dense/kernel" in proc.stderr and "checksum" in proc.stderr, proc.stderr
    assert not (tmp_path / "x.ckpt.index").exists()
    assert inspect_json(prefix)["tensor_count"] == len(tf.train.list_variables(str(prefix)))


@pytest.mark.parametrize("which", ["index", "data"])
def test_truncated_files_are_clear_errors(tf1_ckpt, tmp_path, which):
    prefix = copy_bundle(tf1_ckpt, tmp_path / "t")
    target = Path(f"{prefix}.index") if which == "index" else Path(f"{prefix}.data-00000-of-00001")
    original = target.read_bytes()
    if which == "index":
        lengths = range(len(original))  # every byte: blocks, trailers, footer
    else:
        # Around every tensor boundary, plus a spread through the long string tensor.
        edges = {t["offset"] for t in inspect_json(prefix)["tensors"]}  # each one ends another
        lengths = sorted({max(0, e + d) for e in edges for d in (-1, 0, 1)} |
                         set(range(0, len(original), max(1, len(original) // 50))))
        lengths = [n for n in lengths if n < len(original)]
    for length in lengths:
        target.write_bytes(original[:length])
        proc = run_tf("dump", prefix, tmp_path / f"d{length}", check=False)
        assert proc.returncode == 3, (length, proc.returncode, proc.stderr)
        assert proc.stderr.startswith("tensorferry: ") and target.name in proc.stderr, proc.stderr
    target.write_bytes(original)
    run_tf("dump", prefix, tmp_path / "ok")
