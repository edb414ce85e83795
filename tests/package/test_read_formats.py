"""tensorferry.open(path)[name] holds exactly what the library that owns each format loads:
safetensors (safetensors.numpy / safetensors.torch), torch.save (torch.load), TF1 and TF2 tensor
bundles (tf.train.load_checkpoint), Keras .h5 (h5py, listed by Keras' own attribute reader),
GGUF (llama.cpp's gguf-py).
Bit-exact: every dtype's bytes, shape and dtype are compared, not values within a tolerance."""
import os

import numpy as np

import tensorferry
from conftest import oracle

# The oracle's dtype string -> tensorferry's dtype name.
ORACLE_DTYPES = {
    "<f8": "f64", "<f4": "f32", "<f2": "f16", "bfloat16": "bf16", "<i8": "i64", "<i4": "i32",
    "<i2": "i16", "|i1": "i8", "<u8": "u64", "<u4": "u32", "<u2": "u16", "|u1": "u8",
    "|b1": "bool", "<c8": "c64", "<c16": "c128", "float8_e4m3fn": "f8_e4m3fn",
    "float8_e5m2": "f8_e5m2", "string": "string",
}


def assert_reader_matches(path, expected, ordered=False):
    """Every tensor of `expected` ({name: [dtype, shape, hex]}) is in the file with those bytes,
    and the file holds nothing else."""
    with tensorferry.open(path) as reader:
        names = reader.keys()
        assert (names if ordered else sorted(names)) == (list(expected) if ordered else
                                                         sorted(expected))
        infos = {t.name: t for t in reader.tensors}
        for name, (dtype, shape, data) in expected.items():
            array = reader[name]
            assert infos[name].dtype == ORACLE_DTYPES[dtype], name
            assert array.shape == tuple(shape), name
            assert not array.flags.writeable, name
            if dtype == "string":
                assert [bytes(x).hex() for x in array.reshape(-1)] == data, name
                continue
            assert array.dtype == tensorferry._reader.numpy_dtype(infos[name].dtype), name
            assert array.tobytes().hex() == data, name


def test_safetensors_equal_safetensors_numpy_and_torch_loaders(tmp_path):
    """Two files: what numpy can hold, loaded by safetensors.numpy; every dtype (bf16, f8),
    loaded by safetensors.torch."""
    numpy_path, torch_path = tmp_path / "numpy.safetensors", tmp_path / "torch.safetensors"
    expected = oracle("torch", r'''
import torch
from safetensors.numpy import load_file as numpy_load, save_file as numpy_save
from safetensors.torch import load_file as torch_load, save_file as torch_save
rng = np.random.default_rng(0)
numpy_save({"f32": rng.standard_normal((3, 5)).astype(np.float32),
            "f16": rng.standard_normal(4).astype(np.float16),
            "f64": rng.standard_normal((2, 2)), "i64": np.arange(6).reshape(2, 3),
            "i32": np.array([1, -2], dtype=np.int32), "u8": np.array([0, 255], dtype=np.uint8),
            "bool": np.array([True, False, True]), "scalar": np.array(2.5, dtype=np.float32),
            "empty": np.zeros((0, 4), dtype=np.float32)}, sys.argv[1],
           metadata={"note": "numpy"})
torch.manual_seed(0)
torch_save({"bf16": torch.randn(2, 3).bfloat16(), "f8": torch.randn(5).to(torch.float8_e4m3fn),
            "f8b": torch.randn(5).to(torch.float8_e5m2), "f32": torch.randn(4)}, sys.argv[2],
           metadata={"format": "pt"})
out({"numpy": {n: encoded(a) for n, a in numpy_load(sys.argv[1]).items()},
     "torch": {n: torch_encoded(t) for n, t in torch_load(sys.argv[2]).items()}})
''', numpy_path, torch_path)
    assert_reader_matches(numpy_path, expected["numpy"])
    assert_reader_matches(torch_path, expected["torch"])
    with tensorferry.open(torch_path) as reader:
        assert reader.format == "safetensors"
        assert reader.metadata == {"format": "pt"}
        assert reader["bf16"].dtype.name == "bfloat16"
        assert reader["f8"].dtype.name == "float8_e4m3fn"


def test_torch_save_equals_torch_load(tmp_path):
    """Views of one storage (a transpose, a slice, a tied alias) come out as torch.load
    materialises them, dense."""
    path = tmp_path / "model.pt"
    expected = oracle("torch", r'''
import torch
torch.manual_seed(1)
base = torch.randn(4, 6)
state = {"w": base, "wt": base.t(), "row": base[1], "tied": base, "bf16": torch.randn(3).bfloat16(),
         "i64": torch.arange(5), "half": torch.randn(2, 2).half(), "flag": torch.tensor(True)}
torch.save(state, sys.argv[1])
loaded = torch.load(sys.argv[1], weights_only=True)
out({name: torch_encoded(t) for name, t in loaded.items()})
''', path)
    assert_reader_matches(path, expected)
    with tensorferry.open(path) as reader:
        assert reader["w"].base.mapped  # dense in its storage: a view of the mapped file
        assert not reader["wt"].base.mapped  # a transpose is made dense: a copy


def test_torch_legacy_format_equals_torch_load(tmp_path):
    path = tmp_path / "legacy.bin"
    expected = oracle("torch", r'''
import torch
torch.manual_seed(2)
state = {"a": torch.randn(3, 2), "b": torch.arange(4, dtype=torch.int32)}
torch.save(state, sys.argv[1], _use_new_zipfile_serialization=False)
out({name: torch_encoded(t) for name, t in torch.load(sys.argv[1], weights_only=True).items()})
''', path)
    assert_reader_matches(path, expected)


TF_LOAD_CHECKPOINT = r'''
reader = tf.train.load_checkpoint(prefix)
doc = {}
for name in reader.get_variable_to_dtype_map():
    value = reader.get_tensor(name)
    doc[name] = encoded(np.array(value, dtype=object) if isinstance(value, bytes) else value)
out(doc)
'''


def test_tf2_bundle_equals_tf_train_load_checkpoint(tmp_path):
    prefix = oracle("tf", r'''
import tensorflow as tf
tf.random.set_seed(3)
ckpt = tf.train.Checkpoint(dense=tf.Variable(tf.random.normal([3, 4])),
                           bias=tf.Variable(tf.zeros([4], dtype=tf.float64)),
                           steps=tf.Variable(7, dtype=tf.int64),
                           half=tf.Variable(tf.ones([2], dtype=tf.bfloat16)))
out(ckpt.write(sys.argv[1] + "/ckpt"))
''', tmp_path)
    expected = oracle("tf", "import tensorflow as tf\nprefix = sys.argv[1]\n" +
                      TF_LOAD_CHECKPOINT, prefix)
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in expected  # a string tensor, read as bytes
    assert_reader_matches(prefix, expected)
    with tensorferry.open(prefix) as reader:
        assert reader.format == "tf-bundle"


def test_tf1_bundle_equals_tf_train_load_checkpoint(tmp_path):
    prefix = str(tmp_path / "model.ckpt")
    oracle("tf", r'''
import tensorflow as tf
g = tf.Graph()
with g.as_default():
    tf.compat.v1.set_random_seed(4)
    a = tf.compat.v1.get_variable("layer/kernel", [5, 3])
    b = tf.compat.v1.get_variable("layer/bias", [3], dtype=tf.float16)
    c = tf.compat.v1.get_variable("global_step", [], dtype=tf.int64,
                                  initializer=tf.compat.v1.constant_initializer(9))
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session(graph=g) as s:
        s.run(tf.compat.v1.global_variables_initializer())
        saver.save(s, sys.argv[1], write_meta_graph=False)
out(None)
''', prefix)
    expected = oracle("tf", "import tensorflow as tf\nprefix = sys.argv[1]\n" +
                      TF_LOAD_CHECKPOINT, prefix)
    assert_reader_matches(prefix, expected)


def test_keras_h5_equals_h5py(tmp_path):
    path = tmp_path / "weights.h5"
    expected = oracle("tf", r'''
import h5py
import tf_keras as keras
from tf_keras.src.saving.legacy.hdf5_format import load_attributes_from_hdf5_group
keras.utils.set_random_seed(5)
model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)),
                          keras.layers.LayerNormalization(), keras.layers.Dense(2)])
model.save_weights(sys.argv[1])
doc = {}
with h5py.File(sys.argv[1], "r") as f:
    for layer in load_attributes_from_hdf5_group(f, "layer_names"):
        for weight in load_attributes_from_hdf5_group(f[layer], "weight_names"):
            doc[f"{layer}/{weight}"] = encoded(np.asarray(f[layer][weight]))
out(doc)
''', path)
    assert_reader_matches(path, expected, ordered=True)
    with tensorferry.open(path) as reader:
        assert reader.format == "keras-h5"


def test_to_torch_shares_the_arrays_memory(tmp_path):
    """to_torch needs torch, which the package venv does not have: the oracle venv (same Python)
    imports a copy of the installed package (its modules and bundled libraries, nothing else)."""
    import shutil
    from pathlib import Path

    site = Path(tensorferry.__file__).parents[1]
    copy = tmp_path / "site"
    for name in ("tensorferry", "tensorferry.libs"):
        if (site / name).exists():
            shutil.copytree(site / name, copy / name)
    path = tmp_path / "m.safetensors"
    result = oracle("torch", r'''
import torch
from safetensors.torch import save_file
save_file({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3),
           "b": torch.tensor([1.5, -2.0]).bfloat16()}, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import tensorferry
with tensorferry.open(sys.argv[1]) as reader:
    w, b = reader.to_torch("w"), reader.to_torch("b")
    out({"w": w.tolist(), "b": b.float().tolist(), "b_dtype": str(b.dtype),
         "w_shares": w.data_ptr() == reader["w"].ctypes.data,
         "b_shares": b.data_ptr() == reader["b"].ctypes.data,
         "module": tensorferry.__file__})
''', path, copy)
    assert result["module"].startswith(str(copy))
    assert result["w"] == [[0, 1, 2], [3, 4, 5]]
    assert result["b"] == [1.5, -2.0] and result["b_dtype"] == "torch.bfloat16"
    assert result["w_shares"] and result["b_shares"]  # views of the same mapping, no copies


def test_gguf_equals_llama_cpps_gguf_py(tmp_path):
    """GGUF written and read by llama.cpp's gguf-py (TENSORFERRY_LLAMA_CPP, as for the CLI's
    GGUF tests): dense tensors, whose shapes gguf-py lists in ggml's (reversed) order."""
    source = os.environ.get("TENSORFERRY_LLAMA_CPP", "")
    if not source or not os.path.isdir(os.path.join(source, "gguf-py")):
        raise AssertionError(f"TENSORFERRY_LLAMA_CPP must name llama.cpp's source (with "
                             f"gguf-py); got {source!r}")
    path = tmp_path / "model.gguf"
    expected = oracle("torch", r'''
sys.path.insert(0, sys.argv[2] + "/gguf-py")
import gguf
rng = np.random.default_rng(6)
w = gguf.GGUFWriter(sys.argv[1], "llama")
w.add_tensor("a.weight", rng.standard_normal((3, 5)).astype(np.float32))
w.add_tensor("b.weight", rng.standard_normal((4, 2, 3)).astype(np.float16))
w.add_tensor("c.bias", np.arange(7, dtype=np.int32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
doc = {}
for t in gguf.GGUFReader(sys.argv[1]).tensors:
    shape = [int(d) for d in reversed(list(t.shape))]
    doc[t.name] = [np.dtype(t.data.dtype).str, shape, t.data.tobytes().hex()]
out(doc)
''', path, source)
    assert_reader_matches(path, expected)
    with tensorferry.open(path) as reader:
        assert reader.format == "gguf"
        assert reader["a.weight"].base.mapped
