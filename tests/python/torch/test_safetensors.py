"""safetensors against the real library (safetensors 0.5.3, torch 2.13).

What safetensors writes, tensorferry reads bit-exactly; what tensorferry writes, safetensors and
transformers load bit-exactly; what the reference reader refuses, tensorferry refuses with exit
code 3 and a message naming the file.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import load_file, save_file

from conftest import BIN, dump, inspect_json, run_tf
from torch_dtypes import TORCH_DTYPE_NAMES

# safetensors 0.5.3's save_file refuses torch.uint16/32/64 (KeyError), but its load_file maps
# U16/U32/U64 to them: such files are made with safetensors.numpy. safetensors has no complex.
TORCH_DTYPES = {t: name for t, name in TORCH_DTYPE_NAMES.items()
                if name not in ("u16", "u32", "u64", "c64", "c128")}
NUMPY_ONLY_DTYPES = {np.uint16: "u16", np.uint32: "u32", np.uint64: "u64"}


def raw_bytes(t):
    """The tensor's bytes, row-major little-endian, as safetensors stores them."""
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def sample(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if dtype.is_floating_point:
        t = torch.randn(shape, generator=g) * 100
        flat = t.reshape(-1)
        specials = [float("nan"), float("inf"), -float("inf"), -0.0]
        if dtype == torch.float8_e4m3fn:  # e4m3fn has NaN but no infinities
            specials = [float("nan"), -0.0]
        flat[: min(len(specials), flat.numel())] = torch.tensor(specials[: flat.numel()])
        return t.to(dtype)
    info = torch.iinfo(dtype)
    return torch.randint(max(info.min, -(2**62)), min(info.max, 2**62), shape, generator=g,
                         dtype=torch.int64).to(dtype)


def torch_tensors(seed=0):
    """Every shared dtype in a matrix, a scalar and an empty tensor."""
    tensors = {}
    for i, dtype in enumerate(TORCH_DTYPES):
        name = TORCH_DTYPES[dtype]
        tensors[f"{name}.matrix"] = sample(dtype, (3, 5), seed + i)
        tensors[f"{name}.scalar"] = sample(dtype, (), seed + 100 + i)
        tensors[f"{name}.empty"] = sample(dtype, (0, 4), seed)
    return tensors


def assert_same_tensors(loaded, expected):
    assert sorted(loaded) == sorted(expected)
    for name, t in expected.items():
        got = loaded[name]
        assert got.dtype == t.dtype, name
        assert tuple(got.shape) == tuple(t.shape), name
        assert raw_bytes(got) == raw_bytes(t), name


def assert_dump_matches(path, tmp_path, expected):
    """`expected`: name -> (tensorferry dtype, shape, bytes)."""
    read = dump(path, tmp_path / "dump")
    assert sorted(read) == sorted(expected)
    for name, (dtype, shape, data) in expected.items():
        assert read[name]["dtype"] == dtype, name
        assert read[name]["shape"] == list(shape), name
        assert read[name]["bytes"] == data, name


# ---------------------------------------------------------------------------------------------
# Reading what safetensors writes


@pytest.mark.parametrize("dtype", list(TORCH_DTYPES), ids=list(TORCH_DTYPES.values()))
def test_reads_every_torch_dtype_bit_exactly(tmp_path, dtype):
    name = TORCH_DTYPES[dtype]
    tensors = {
        "matrix": sample(dtype, (7, 3), 1),
        "scalar": sample(dtype, (), 2),
        "empty": sample(dtype, (0,), 3),
        "empty.3d": sample(dtype, (2, 0, 5), 4),
        "vector": sample(dtype, (11,), 5),
    }
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path))
    assert_dump_matches(path, tmp_path, {
        k: (name, tuple(t.shape), raw_bytes(t)) for k, t in tensors.items()})


def test_reads_unsigned_dtypes_saved_by_safetensors_numpy(tmp_path):
    arrays = {}
    for np_dtype, name in NUMPY_ONLY_DTYPES.items():
        info = np.iinfo(np_dtype)
        rng = np.random.default_rng(7)
        arrays[f"{name}.matrix"] = rng.integers(0, info.max, (4, 3), dtype=np_dtype,
                                                endpoint=True)
        arrays[f"{name}.matrix"].flat[0] = info.max
        arrays[f"{name}.scalar"] = np.array(info.max, dtype=np_dtype)
        arrays[f"{name}.empty"] = np.zeros((0, 2), dtype=np_dtype)
    path = tmp_path / "unsigned.safetensors"
    np_save_file(arrays, str(path))
    assert_dump_matches(path, tmp_path, {
        k: (k.split(".")[0], a.shape, a.astype(a.dtype.newbyteorder("<")).tobytes())
        for k, a in arrays.items()})


def test_reads_big_tensors_and_metadata(tmp_path):
    g = torch.Generator().manual_seed(3)
    tensors = {
        "embed.weight": torch.randn(4096, 1024, generator=g),  # 16 MiB
        "big.bf16": torch.randn(1 << 21, generator=g).bfloat16(),
        "ids": torch.arange(1 << 20, dtype=torch.int64),
    }
    path = tmp_path / "big.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt", "note": "ünïcode ✓"})
    info = inspect_json(path)
    assert info["format"] == "safetensors"
    assert info["metadata"] == {"format": "pt", "note": "ünïcode ✓"}
    assert info["total_bytes"] == sum(t.numel() * t.element_size() for t in tensors.values())
    # Listed in the order of their data.
    _, header = read_header(path)
    by_offset = sorted((v["data_offsets"], k) for k, v in json.loads(header).items()
                       if k != "__metadata__")
    assert [t["name"] for t in info["tensors"]] == [k for _, k in by_offset]
    n = len(header)
    assert [t["offset"] for t in info["tensors"]] == [8 + n + o[0] for o, _ in by_offset]
    assert_dump_matches(path, tmp_path, {
        k: (TORCH_DTYPES[t.dtype], tuple(t.shape), raw_bytes(t)) for k, t in tensors.items()})


def test_inspect_reads_the_header_only(tmp_path):
    """A 16 GiB sparse data region: inspect must not touch it (time and memory stay small)."""
    nbytes = 16 << 30
    header = {
        "__metadata__": {"format": "pt"},
        "small": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "huge": {"dtype": "F32", "shape": [4, 1024, 1024, 1024], "data_offsets": [8, 8 + nbytes]},
    }
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path = tmp_path / "sparse.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + struct.pack("<2f", 1.0, 2.0))
        f.truncate(8 + len(text) + 8 + nbytes)
    assert os.stat(path).st_blocks * 512 < (1 << 20), "the test file is not sparse here"
    # The reference reader accepts the file too.
    with safe_open(str(path), "np") as f:
        assert sorted(f.keys()) == ["huge", "small"]

    start = time.monotonic()
    proc = subprocess.Popen([str(BIN), "inspect", "--json", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, err.decode()
    info = json.loads(out)
    assert [(t["name"], t["nbytes"]) for t in info["tensors"]] == [("small", 8), ("huge", nbytes)]
    assert elapsed < 5, f"inspect took {elapsed:.1f} s"

    # Peak memory, measured by GNU time (scripts/setup.sh installs it): rusage of a child forked
    # from this process would report the peak of the Python process that forked it.
    proc = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", str(BIN), "inspect", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    max_rss_kib = int(re.search(r"maxrss=(\d+)", proc.stderr).group(1))
    assert max_rss_kib < 64 * 1024, f"inspect used {max_rss_kib} KiB"


# ---------------------------------------------------------------------------------------------
# What tensorferry writes, the real libraries load


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return n, f.read(n)


def test_converted_file_loads_bit_identically(tmp_path):
    tensors = torch_tensors()
    src = tmp_path / "src.safetensors"
    save_file(tensors, str(src))
    out = tmp_path / "out.safetensors"
    run_tf("convert", src, out)

    assert_same_tensors(load_file(str(out)), tensors)
    with safe_open(str(out), "pt") as f:
        assert f.metadata() == {"format": "pt"}
    n, header = read_header(out)
    assert n % 8 == 0 and header.startswith(b'{"__metadata__":{"format":"pt"}')
    # Tensors stay in the order of the source's data.
    src_order = [t["name"] for t in inspect_json(src)["tensors"]]
    assert list(json.loads(header)) == ["__metadata__", *src_order]


def test_converted_unsigned_dtypes_load_in_torch(tmp_path):
    arrays = {name: np.arange(6, dtype=np_dtype).reshape(2, 3) * (np.iinfo(np_dtype).max // 5)
              for np_dtype, name in NUMPY_ONLY_DTYPES.items()}
    src = tmp_path / "src.safetensors"
    np_save_file(arrays, str(src))
    out = tmp_path / "out.safetensors"
    run_tf("convert", src, out)
    loaded = load_file(str(out))
    torch_dtypes = {"u16": torch.uint16, "u32": torch.uint32, "u64": torch.uint64}
    for name, a in arrays.items():
        assert loaded[name].dtype == torch_dtypes[name]
        assert tuple(loaded[name].shape) == a.shape
        assert raw_bytes(loaded[name]) == a.tobytes()


def test_unaligned_layout_round_trips(tmp_path):
    """Declaration order can leave an f32 at an odd offset; both readers still take it."""
    header = {"odd": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
              "f": {"dtype": "F32", "shape": [2], "data_offsets": [3, 11]}}
    text = json.dumps(header).encode()
    src = tmp_path / "odd.safetensors"
    src.write_bytes(struct.pack("<Q", len(text)) + text + b"\x01\x02\x03" +
                    struct.pack("<2f", 1.5, -2.25))
    out = tmp_path / "out.safetensors"
    run_tf("convert", src, out)
    n, raw = read_header(out)
    assert json.loads(raw)["f"]["data_offsets"] == [3, 11]
    loaded = load_file(str(out))
    assert loaded["odd"].tolist() == [1, 2, 3]
    assert loaded["f"].tolist() == [1.5, -2.25]


def test_sharded_output_loads_like_transformers_does(tmp_path):
    tensors = torch_tensors(seed=5)
    g = torch.Generator().manual_seed(9)
    for i in range(6):
        tensors[f"layer.{i}.weight"] = torch.randn(64, 64, generator=g)  # 16 KiB each
    src = tmp_path / "src.safetensors"
    save_file(tensors, str(src))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    run_tf("convert", src, out_dir / "model.safetensors", "--shard-size", "40KB")

    index_path = out_dir / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    assert set(index) == {"metadata", "weight_map"}
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size()
                                                  for t in tensors.values())
    assert sorted(index["weight_map"]) == sorted(tensors)
    shards = sorted(set(index["weight_map"].values()))  # what transformers does
    assert len(shards) >= 3
    pattern = re.compile(rf"model-\d{{5}}-of-{len(shards):05d}\.safetensors")
    assert all(pattern.fullmatch(s) for s in shards), shards
    assert not (out_dir / "model.safetensors").exists()

    loaded = {}
    for shard in shards:
        part = load_file(str(out_dir / shard))
        assert all(index["weight_map"][k] == shard for k in part)
        with safe_open(str(out_dir / shard), "pt") as f:
            assert f.metadata() == {"format": "pt"}
        loaded.update(part)
    assert_same_tensors(loaded, tensors)
    # tensorferry reads its own sharded output back through the index.
    assert_dump_matches(index_path, tmp_path, {
        k: (TORCH_DTYPES[t.dtype], tuple(t.shape), raw_bytes(t)) for k, t in tensors.items()})

    # Replaced with fewer shards (--force): the old shards it no longer uses are gone, and
    # unrelated files beside it stay.
    (out_dir / "notes-00001-of-00002.safetensors").write_bytes(b"not ours")
    run_tf("convert", src, out_dir / "model.safetensors", "--shard-size", "80KB", "--force")
    index = json.loads(index_path.read_text())
    fewer = sorted(set(index["weight_map"].values()))
    assert 2 <= len(fewer) < len(shards)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        fewer + ["model.safetensors.index.json", "notes-00001-of-00002.safetensors"])


def test_transformers_loads_a_sharded_conversion(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=101, n_positions=16)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).eval()
    src = tmp_path / "src"
    model.save_pretrained(src, safe_serialization=True)
    out = tmp_path / "out"
    out.mkdir()
    run_tf("convert", src / "model.safetensors", out / "model.safetensors", "--shard-size", "30KB")
    assert (out / "model.safetensors.index.json").exists()
    shutil.copy(src / "config.json", out / "config.json")

    reloaded = GPT2LMHeadModel.from_pretrained(out).eval()
    expected = model.state_dict()
    got = reloaded.state_dict()
    assert sorted(got) == sorted(expected)
    for name, t in expected.items():
        assert raw_bytes(got[name]) == raw_bytes(t), name
    ids = torch.tensor([[1, 5, 7, 100]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reloaded(ids).logits)


# ---------------------------------------------------------------------------------------------
# Refusing what the reference refuses


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def craft(path, header, data, raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def valid_file_bytes(tmp_path):
    path = tmp_path / "valid.safetensors"
    save_file({"a": torch.arange(4, dtype=torch.float32), "b": torch.ones(3, dtype=torch.int8)},
              str(path))
    return path.read_bytes()


BAD_HEADERS = {
    "overlap": ({"a": entry("U8", [4], 0, 4), "b": entry("U8", [4], 2, 6)}, b"x" * 6),
    "gap": ({"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 3, 5)}, b"x" * 5),
    "offsets outside the file": ({"a": entry("F32", [4], 0, 16)}, b"x" * 8),
    "size does not match shape": ({"a": entry("F32", [3], 0, 16)}, b"x" * 16),
    "reversed offsets": ({"a": entry("U8", [0], 4, 0)}, b"x" * 4),
    "unknown dtype": ({"a": entry("F33", [2], 0, 8)}, b"x" * 8),
    "non-string metadata": ({"__metadata__": {"epoch": 3}, "a": entry("U8", [1], 0, 1)}, b"x"),
    "metadata not an object": ({"__metadata__": ["pt"], "a": entry("U8", [1], 0, 1)}, b"x"),
    "trailing bytes": ({"a": entry("U8", [1], 0, 1)}, b"xyz"),
    "shape overflow": ({"a": entry("U8", [2**32, 2**32], 0, 1)}, b"x"),
    "negative dimension": ({"a": entry("U8", [-1], 0, 1)}, b"x"),
    "float offsets": ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0.0, 1.0]}}, b"x"),
    "missing data_offsets": ({"a": {"dtype": "U8", "shape": [1]}}, b"x"),
    "three data_offsets": ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 1]}}, b"x"),
    "header is a list": ([], b""),
    "entry is a number": ({"a": 3}, b""),
}


def assert_refused(path, reference_refuses=True):
    if reference_refuses:
        with pytest.raises(Exception):
            with safe_open(str(path), "np") as f:
                for k in f.keys():
                    f.get_tensor(k)
    for command in (["inspect"], ["dump"]):
        args = [*command, path] + ([path.parent / (path.name + ".dump")] if command == ["dump"]
                                   else [])
        proc = run_tf(*args, check=False)
        assert proc.returncode == 3, (command, proc.stdout, proc.stderr)
        assert str(path) in proc.stderr, proc.stderr
        assert "at byte" in proc.stderr, proc.stderr
    return proc.stderr


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_refuses_bad_headers_like_the_reference(tmp_path, case):
    header, data = BAD_HEADERS[case]
    assert_refused(craft(tmp_path / "bad.safetensors", header, data))


def test_refuses_huge_header_length(tmp_path):
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 100_000_001) + b"{}" + b" " * 100)
    assert "exceeds the limit" in assert_refused(path)
    path.write_bytes(struct.pack("<Q", 2**64 - 1) + b"{}")
    assert_refused(path)
    path.write_bytes(struct.pack("<Q", 4096) + b"{}")
    assert "runs past the end" in assert_refused(path)


def test_refuses_every_truncation(tmp_path):
    raw = valid_file_bytes(tmp_path)
    n = struct.unpack("<Q", raw[:8])[0]
    # Inside the length, inside the JSON, at the end of the JSON, inside the data, one byte short.
    for size in (0, 5, 8, 8 + n // 2, 8 + n, 8 + n + 5, len(raw) - 1):
        path = tmp_path / f"cut{size}.safetensors"
        path.write_bytes(raw[:size])
        assert_refused(path)


def test_refuses_text_after_the_json_but_accepts_padding(tmp_path):
    header = json.dumps({"a": entry("U8", [1], 0, 1)}).encode()
    assert_refused(craft(tmp_path / "nul.safetensors", None, b"x", raw_header=header + b"\0\0"))
    ok = craft(tmp_path / "ok.safetensors", None, b"x", raw_header=b"\n " + header + b" \t\n")
    with safe_open(str(ok), "np") as f:  # the reference takes JSON whitespace on both sides
        assert list(f.keys()) == ["a"]
    assert [t["name"] for t in inspect_json(ok)["tensors"]] == ["a"]


def test_refuses_duplicate_names_which_the_reference_merges(tmp_path):
    """serde keeps the last of two equal keys; tensorferry refuses the ambiguity."""
    raw = (b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
           b'"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}')
    path = craft(tmp_path / "dup.safetensors", None, b"xy", raw_header=raw)
    with safe_open(str(path), "np") as f:
        assert list(f.keys()) == ["a"]
    assert "appears twice" in assert_refused(path, reference_refuses=False)
