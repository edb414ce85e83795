"""GGUF as a container (issue 14), against llama.cpp's gguf-py (the version vendored with its
converter): what tensorferry writes, gguf-py reads with the same names, types, shapes and bytes;
what gguf-py writes (every metadata type, dense and quantized tensors), tensorferry lists and
converts to safetensors, with q8_0, q4_0, q4_K and q6_K dequantized exactly as gguf-py does."""
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import inspect_json, run_tf
from support.llama_cpp_oracle import import_gguf

gguf = import_gguf()
Q = gguf.GGMLQuantizationType


def test_gguf_py_reads_what_tensorferry_writes(tmp_path):
    g = torch.Generator().manual_seed(1)
    tensors = {
        "a.f32": torch.randn(3, 5, generator=g),
        "b.f16": torch.randn(4, 2, 3, generator=g).half(),
        "c.bf16": torch.randn(7, generator=g).bfloat16(),
        "d.i32": torch.randint(-1000, 1000, (2, 3), generator=g, dtype=torch.int32),
        "e.f64": torch.randn(2, 2, 2, 2, generator=g, dtype=torch.float64),
    }
    save_file(tensors, tmp_path / "in.safetensors")
    run_tf("convert", tmp_path / "in.safetensors", tmp_path / "out.gguf")
    reader = gguf.GGUFReader(tmp_path / "out.gguf")
    assert sorted(t.name for t in reader.tensors) == sorted(tensors)
    types = {"a.f32": Q.F32, "b.f16": Q.F16, "c.bf16": Q.BF16, "d.i32": Q.I32, "e.f64": Q.F64}
    for t in reader.tensors:
        src = tensors[t.name]
        assert t.tensor_type == types[t.name], t.name
        assert list(t.shape) == list(reversed(src.shape)), t.name  # ggml order
        assert t.data.tobytes() == src.contiguous().view(torch.uint8).numpy().tobytes(), t.name
        assert t.data_offset % 32 == 0


def write_with_gguf_py(path, tensors, alignment=None):
    w = gguf.GGUFWriter(path, "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.1)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 1e300)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.arr", ["a", "bc", ""])
    w.add_array("t.ints", [1, 2, 3])
    for name, (data, qtype) in tensors.items():
        w.add_tensor(name, data, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def random_kquant_blocks(rng, qtype, n_blocks):
    """Random q4_K / q6_K blocks whose f16 scales are finite and small."""
    block_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
    blocks = rng.integers(0, 256, (n_blocks, block_bytes), dtype=np.uint8)
    scales = rng.uniform(-0.02, 0.02, (n_blocks, 2)).astype(np.float16).view(np.uint8)
    if qtype == Q.Q4_K:
        blocks[:, 0:4] = scales.reshape(n_blocks, 4)  # d, dmin
    else:
        blocks[:, 208:210] = scales[:, 0:2]  # d
    return blocks


@pytest.mark.parametrize("alignment", [None, 64])
def test_tensorferry_reads_and_dequantizes_what_gguf_py_writes(tmp_path, alignment):
    rng = np.random.default_rng(3)
    floats = rng.standard_normal((4, 64)).astype(np.float32)
    floats[0, :32] = 0  # an all-zero block (scale 0)
    q8 = gguf.quants.quantize(floats, Q.Q8_0)
    q4 = gguf.quants.quantize(floats, Q.Q4_0)
    k4 = random_kquant_blocks(rng, Q.Q4_K, 6).reshape(3, 2 * 144)
    k6 = random_kquant_blocks(rng, Q.Q6_K, 6).reshape(2, 3 * 210)
    tensors = {
        "dense.f32": (floats, Q.F32),
        "dense.f16": (floats.astype(np.float16), Q.F16),
        "q.q8_0": (q8, Q.Q8_0),
        "q.q4_0": (q4, Q.Q4_0),
        "q.q4_K": (k4, Q.Q4_K),
        "q.q6_K": (k6, Q.Q6_K),
    }
    path = tmp_path / "m.gguf"
    write_with_gguf_py(path, tensors, alignment)
    reader = gguf.GGUFReader(path)
    expected = {t.name: gguf.quants.dequantize(t.data, t.tensor_type) for t in reader.tensors}

    info = inspect_json(path)
    assert info["format"] == "gguf"
    meta = info["metadata"]
    assert meta["general.architecture"] == '"llama"'
    assert meta["t.u8"] == "200" and meta["t.i8"] == "-100" and meta["t.i16"] == "-30000"
    assert meta["t.u64"] == str(2**63 + 5) and meta["t.i64"] == str(-(2**62))
    assert meta["t.bool"] == "true" and meta["t.str"] == '"héllo"'
    assert meta["t.arr"] == '["a", "bc", ""]' and meta["t.ints"] == "[1, 2, 3]"
    listed = {t["name"]: t for t in info["tensors"]}
    for t in reader.tensors:
        assert listed[t.name]["shape"] == list(expected[t.name].shape), t.name
        assert listed[t.name]["offset"] == t.data_offset, t.name

    run_tf("convert", path, tmp_path / "out.safetensors")
    got = load_file(tmp_path / "out.safetensors")
    assert set(got) == set(expected)
    for name, want in expected.items():
        have = got[name].numpy()
        assert have.shape == want.shape, name
        want = want.astype(have.dtype)
        assert have.tobytes() == want.tobytes(), name  # bit-identical to gguf-py's dequantization

    # Dequantized into f16 on request: numpy's rounding of gguf-py's f32 values.
    run_tf("convert", path, tmp_path / "out16.safetensors", "--dtype", "f16")
    got = load_file(tmp_path / "out16.safetensors")
    for name, want in expected.items():
        if got[name].dtype.is_floating_point:
            assert got[name].numpy().tobytes() == want.astype(np.float16).tobytes(), name

