"""PyTorch torch.save files against real torch 2.13 (and transformers 4.57).

Reading: files torch writes (zip and legacy layouts, every dtype, shared storages, views,
non-contiguous and broadcast tensors, conj/neg bits, big-endian byte order, pickle protocols 2-5,
HF pytorch_model.bin single and sharded, nested training checkpoints) must `dump` to exactly the
bytes torch holds. Writing: what `tensorferry convert` writes must load with
torch.load(weights_only=True) (and transformers' from_pretrained) bit-identically. Hostile files
(code-executing pickles, huge sizes, memo and reference bombs, broken zips) must be refused with
exit code 3 and a message naming the global or the offset, and must never run anything.
"""
import argparse
import collections
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

# transformers imports TensorFlow when it is installed unless told not to; this suite must never
# load TensorFlow into the torch process.
os.environ["USE_TF"] = "0"

from conftest import BIN, dump, inspect_json, run_tf
from pickle_ops import binunicode, global_op
from torch_dtypes import TORCH_DTYPE_NAMES

EXIT_BAD_INPUT = 3

DTYPES = TORCH_DTYPE_NAMES


def torch_bytes(t):
    """The dense row-major little-endian bytes of what torch holds (conj/neg resolved)."""
    t = t.resolve_conj().resolve_neg().contiguous()
    return t.reshape(-1).view(torch.uint8).numpy().tobytes()


def random_tensor(dtype, shape, seed):
    """Arbitrary bit patterns (NaNs, denormals, negative zeros included) to catch any conversion."""
    g = torch.Generator().manual_seed(seed)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    size = torch.empty(0, dtype=dtype).element_size()
    raw = torch.randint(0, 256, (n * size,), dtype=torch.uint8, generator=g)
    return raw.view(dtype).reshape(shape)


def assert_reads_like_torch(path, expected, tmp_path, tag="dump"):
    """tensorferry's dump of `path` equals `expected` ({name: tensor}) byte for byte."""
    got = dump(path, tmp_path / tag)
    assert list(got) == list(expected), "names or order differ"
    for name, t in expected.items():
        entry = got[name]
        assert entry["dtype"] == DTYPES[t.dtype], name
        assert entry["shape"] == list(t.shape), name
        assert entry["bytes"] == torch_bytes(t), f"{name}: bytes differ"
    return got


def flat_tensors(obj, prefix=""):
    """The naming rule of tensor_names.h, written independently in Python."""
    out = {}
    if isinstance(obj, torch.Tensor):
        out[prefix or "tensor"] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flat_tensors(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(flat_tensors(v, f"{prefix}.{i}" if prefix else str(i)))
    elif isinstance(obj, argparse.Namespace):
        out.update(flat_tensors(vars(obj), prefix))
    return out


def payload_offset(path, name):
    """File offset of a zip entry's first byte, from its local header (whose extra field, unlike
    the central directory's, holds torch's alignment padding)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    with open(path, "rb") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", f.read(4))
    return info.header_offset + 30 + name_len + extra_len


def save(obj, path, legacy=False, **kwargs):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy, **kwargs)
    return path


LAYOUTS = pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])


# ------------------------------------------------------------------------------------------------
# Reading what torch writes.


@LAYOUTS
def test_every_dtype_bit_exact(tmp_path, legacy):
    sd = collections.OrderedDict()
    for i, dtype in enumerate(DTYPES):
        sd[f"t_{DTYPES[dtype]}"] = random_tensor(dtype, (3, 5), seed=i)
    path = save(sd, tmp_path / "all.pt", legacy)
    assert_reads_like_torch(path, sd, tmp_path)
    if not legacy:
        # torch 2.13 itself cannot load legacy files holding uint16/32/64 or float8 tensors
        # (AttributeError: UntypedStorage has no dtype), so only the zip layout round-trips.
        loaded = torch.load(path, weights_only=True)
        assert all(torch_bytes(loaded[k]) == torch_bytes(sd[k]) for k in sd)
    info = inspect_json(path)
    assert info["format"] == "pytorch"
    assert info["metadata"]["pytorch.layout"] == ("legacy" if legacy else "zip")


@LAYOUTS
def test_views_sharing_and_strides(tmp_path, legacy):
    base = random_tensor(torch.float32, (6, 8), seed=1)
    half = random_tensor(torch.bfloat16, (4, 10), seed=2)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["row"] = base[2]  # storage offset 16
    sd["middle"] = base[1:4, 2:7]  # offset + non-contiguous rows
    sd["transposed"] = base.t()
    sd["stepped"] = base[::2, 1::3]
    sd["flipped_view"] = base.t()[3:, ::2]
    sd["half_t"] = half.t()
    sd["half_col"] = half[:, 7]
    sd["broadcast"] = torch.arange(4, dtype=torch.int64).expand(3, 4)
    sd["scalar"] = torch.tensor(-2.75, dtype=torch.float64)
    sd["scalar_view"] = base[5, 7]
    sd["empty"] = torch.zeros(0, 3)
    sd["empty_mid"] = torch.zeros(2, 0, 3, dtype=torch.int16)
    sd["tied"] = sd["base"]  # the same tensor object twice (like tied embeddings)
    path = save(sd, tmp_path / "views.pt", legacy)
    assert_reads_like_torch(path, torch.load(path, weights_only=True), tmp_path)

    notes = {t["name"]: t.get("note", "") for t in inspect_json(path)["tensors"]}
    for name in ("row", "middle", "transposed", "stepped", "flipped_view", "scalar_view", "tied"):
        assert notes[name] == "shares storage with base", name
    assert notes["half_col"] == "shares storage with half_t"
    assert notes["base"] == "" and notes["broadcast"] == ""


def test_conj_and_neg_bits(tmp_path):
    z = random_tensor(torch.complex64, (5,), seed=3)
    sd = {"conj": z.conj(), "neg": torch.arange(4.0)._neg_view(), "plain": z}
    path = save(sd, tmp_path / "bits.pt")
    loaded = torch.load(path, weights_only=True)
    assert loaded["conj"].is_conj() and loaded["neg"].is_neg()
    assert_reads_like_torch(path, loaded, tmp_path)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@LAYOUTS
def test_pickle_protocols(tmp_path, protocol, legacy):
    sd = {"a": random_tensor(torch.float32, (2, 3), seed=4), "b": torch.tensor([1, 2, 3])}
    sd["a_view"] = sd["a"][:, 1]
    path = save(sd, tmp_path / f"p{protocol}.pt", legacy, pickle_protocol=protocol)
    # torch's own weights-only unpickler refuses protocol 4's FRAME; the input is the oracle.
    assert_reads_like_torch(path, sd, tmp_path)


def test_big_endian_byteorder_record(tmp_path):
    """A zip whose byteorder record says "big" (as torch writes on s390x): torch swaps on load, so
    must we. Built by swapping a little-endian file's storages and rewriting the record."""
    sd = {name: random_tensor(dtype, (3, 4), seed=i) for i, (dtype, name) in enumerate(
        [(torch.float32, "f32"), (torch.float16, "f16"), (torch.int64, "i64"),
         (torch.complex64, "c64"), (torch.uint8, "u8"), (torch.bfloat16, "bf16")])}
    sd["f32_t"] = sd["f32"].t()
    little = save(sd, tmp_path / "little.pt")
    # Storage keys are assigned in first-use order, one per tensor above ("f32_t" shares "0").
    units = {"0": 4, "1": 2, "2": 8, "3": 4, "4": 1, "5": 2}
    big = tmp_path / "big.pt"
    with zipfile.ZipFile(little) as src, zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            name = info.filename
            if name.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in name:
                unit = units[name.rsplit("/", 1)[1]]
                data = np.frombuffer(data, dtype=f"u{unit}").byteswap().tobytes() if unit > 1 \
                    else data
            dst.writestr(name, data)
    loaded = torch.load(big, weights_only=True)
    for name in sd:
        assert torch_bytes(loaded[name]) == torch_bytes(sd[name]), name  # torch swapped back
    assert_reads_like_torch(big, loaded, tmp_path)


@LAYOUTS
def test_training_checkpoint_names(tmp_path, legacy):
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    ckpt = {
        "state_dict": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "best": 0.25,
        "name": "run-7",
        "blob": b"\x00\xffbytes",
        "args": argparse.Namespace(lr=0.01, layers=[4, 3], extra=torch.ones(2)),
        "history": [torch.tensor([1.0, 2.0]), {"loss": torch.tensor(0.5)}],
    }
    path = save(ckpt, tmp_path / "ckpt.pt", legacy)
    loaded = torch.load(path, weights_only=False)  # argparse.Namespace is not weights_only-safe
    expected = flat_tensors(loaded)
    assert "state_dict.0.weight" in expected and "optimizer.state.0.exp_avg" in expected
    assert "args.extra" in expected and "history.1.loss" in expected
    assert_reads_like_torch(path, expected, tmp_path)


def test_bare_tensor_and_parameter(tmp_path):
    t = random_tensor(torch.float16, (4, 4), seed=5)
    path = save(torch.nn.Parameter(t.float()), tmp_path / "param.pt")
    assert_reads_like_torch(path, {"tensor": t.float()}, tmp_path, "a")
    path = save([t, t[1:]], tmp_path / "list.pt")
    assert_reads_like_torch(path, {"0": t, "1": t[1:]}, tmp_path, "b")


@LAYOUTS
def test_objects_without_a_checkpoint(tmp_path, legacy):
    for name, obj in (("none", None), ("int", 3), ("str", "weights")):
        path = save(obj, tmp_path / f"{name}.pt", legacy)
        assert torch.load(path) == obj  # torch reads it back fine; it is simply not a checkpoint
        for command in (["inspect", path], ["convert", path, tmp_path / f"{name}.safetensors"]):
            proc = run_tf(*command, check=False)
            assert proc.returncode == EXIT_BAD_INPUT, (name, proc.stderr)
            assert str(path) in proc.stderr and "holds no checkpoint" in proc.stderr, proc.stderr
        assert not (tmp_path / f"{name}.safetensors").exists()
    path = save({}, tmp_path / "empty.pt", legacy)  # an empty state dict is a checkpoint
    assert "0 tensors" in run_tf("inspect", path).stdout


def hf_models():
    from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=120,
                                      n_positions=48))
    bert = BertForMaskedLM(BertConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=2,
                                      intermediate_size=64, vocab_size=90,
                                      max_position_embeddings=40))
    return {"gpt2": gpt2.eval(), "bert": bert.eval()}


@pytest.fixture(scope="module")
def hf_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    out = {}
    for name, model in hf_models().items():
        single = root / name
        model.save_pretrained(single, safe_serialization=False)
        sharded = root / f"{name}_sharded"
        model.save_pretrained(sharded, safe_serialization=False, max_shard_size="30KB")
        out[name] = (model, single, sharded)
    return out


@pytest.mark.parametrize("name", ["gpt2", "bert"])
def test_hf_pytorch_model_bin(tmp_path, hf_folders, name):
    model, single, sharded = hf_folders[name]
    expected = torch.load(single / "pytorch_model.bin", weights_only=True)
    assert_reads_like_torch(single / "pytorch_model.bin", expected, tmp_path, "single")
    assert_reads_like_torch(single, expected, tmp_path, "folder")  # finds pytorch_model.bin

    index = json.loads((sharded / "pytorch_model.bin.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1, "the model was not sharded"
    merged = {}
    for shard in sorted(set(index["weight_map"].values())):
        merged.update(torch.load(sharded / shard, weights_only=True))
    got = dump(sharded / "pytorch_model.bin.index.json", tmp_path / "sharded")
    assert set(got) == set(merged)
    for k, t in merged.items():
        assert got[k]["bytes"] == torch_bytes(t), k


# ------------------------------------------------------------------------------------------------
# Writing what torch reads.


def assert_torch_loads(path, expected):
    loaded = torch.load(path, weights_only=True)
    assert list(loaded) == list(expected)
    for name, t in expected.items():
        got = loaded[name]
        assert got.dtype == t.dtype and got.shape == t.shape, name
        assert torch_bytes(got) == torch_bytes(t), name
        assert got.is_contiguous(), name
    return loaded


@pytest.mark.parametrize("source_legacy", [False, True], ids=["from_zip", "from_legacy"])
def test_convert_loads_in_torch(tmp_path, source_legacy):
    sd = collections.OrderedDict()
    for i, dtype in enumerate(DTYPES):
        sd[f"w.{DTYPES[dtype]}"] = random_tensor(dtype, (2, 3, 4), seed=10 + i)
    sd["view.t"] = sd["w.f32"][1].t()
    sd["scalar"] = torch.tensor(1.25)
    sd["empty"] = torch.zeros(3, 0)
    # Larger than the writer's 4 MiB direct writes: its CRC-32 is summed over several pieces.
    sd["big"] = random_tensor(torch.float32, (2_500_001,), seed=99)
    src = save(sd, tmp_path / "in.pt", source_legacy)
    out = tmp_path / "out.bin"
    run_tf("convert", src, out)
    assert_torch_loads(out, sd)
    mapped = torch.load(out, weights_only=True, mmap=True)  # payloads are stored and aligned
    assert torch_bytes(mapped["w.f32"]) == torch_bytes(sd["w.f32"])
    assert torch_bytes(mapped["big"]) == torch_bytes(sd["big"])
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None  # every CRC-32 is right
        names = z.namelist()
        assert names[0] == "out/data.pkl" and "out/version" in names
        assert not any(n.endswith("constants.pkl") or n.endswith(".format_version") for n in names)
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            if "/data/" in info.filename and info.file_size:
                assert payload_offset(out, info.filename) % 64 == 0
    listed = inspect_json(out)
    assert [t["name"] for t in listed["tensors"]] == list(sd)
    assert [t["dtype"] for t in listed["tensors"]] == [DTYPES[t.dtype] for t in sd.values()]


def test_convert_zip64_loads_in_torch(tmp_path):
    """ZIP64 fields (local sizes, central offsets, end records) as files beyond 4 GiB need them;
    the writer's testing knob forces them on a small file."""
    sd = {"a": random_tensor(torch.bfloat16, (3, 7), seed=20), "b": torch.arange(5)}
    src = save(sd, tmp_path / "in.pt")
    out = tmp_path / "z64.bin"
    env = dict(os.environ, TENSORFERRY_TORCH_FORCE_ZIP64="1")
    subprocess.run([str(BIN), "convert", src, out], check=True, env=env, capture_output=True)
    raw = out.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw  # ZIP64 end record and locator
    assert_torch_loads(out, sd)
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
    assert_reads_like_torch(out, sd, tmp_path)


def test_convert_with_shards(tmp_path, hf_folders):
    model, single, _ = hf_folders["gpt2"]
    out = tmp_path / "pytorch_model.bin"
    run_tf("convert", single / "pytorch_model.bin", out, "--shard-size", "40KB")
    index = json.loads((tmp_path / "pytorch_model.bin.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1 and not out.exists()
    expected = torch.load(single / "pytorch_model.bin", weights_only=True)
    merged = {}
    for shard in shards:
        part = torch.load(tmp_path / shard, weights_only=True)
        assert all(index["weight_map"][k] == shard for k in part)
        merged.update(part)
    assert set(merged) == set(expected)
    for k in expected:
        assert torch_bytes(merged[k]) == torch_bytes(expected[k]), k
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size()
                                                  for t in expected.values())
    # And tensorferry reads its own shards back.
    got = dump(tmp_path / "pytorch_model.bin.index.json", tmp_path / "back")
    assert {k: v["bytes"] for k, v in got.items()} == {k: torch_bytes(t) for k, t in expected.items()}


@pytest.mark.parametrize("name", ["gpt2", "bert"])
@pytest.mark.parametrize("shard", [False, True], ids=["single", "sharded"])
def test_transformers_loads_converted_model(tmp_path, hf_folders, name, shard):
    from transformers import AutoModelForMaskedLM, GPT2LMHeadModel

    model, single, _ = hf_folders[name]
    out_dir = tmp_path / "converted"
    out_dir.mkdir()
    shutil.copy(single / "config.json", out_dir / "config.json")
    extra = ["--shard-size", "30KB"] if shard else []
    run_tf("convert", single / "pytorch_model.bin", out_dir / "pytorch_model.bin", *extra)
    cls = GPT2LMHeadModel if name == "gpt2" else AutoModelForMaskedLM
    reloaded = cls.from_pretrained(out_dir, use_safetensors=False).eval()
    for k, t in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[k], t), k
    ids = torch.tensor([[1, 5, 9, 13, 2]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reloaded(ids).logits)


def test_convert_never_overwrites_without_force(tmp_path):
    # (Refusing string tensors, which torch lacks, is covered in C++: no reader here makes them.)
    src = save({"a": torch.ones(2)}, tmp_path / "a.pt")
    out = tmp_path / "out.bin"
    run_tf("convert", src, out)
    proc = run_tf("convert", src, out, check=False)
    assert proc.returncode == 2 and "exists" in proc.stderr
    run_tf("convert", src, out, "--force")


# ------------------------------------------------------------------------------------------------
# Hostile files.

CANARY = "tensorferry_canary_file"


def torch_zip(pickle_bytes, path, archive="archive", storages=()):
    """A zip laid out like torch.save's around an arbitrary data.pkl."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", pickle_bytes)
        z.writestr(f"{archive}/byteorder", "little")
        for key, data in storages:
            z.writestr(f"{archive}/data/{key}", data)
        z.writestr(f"{archive}/version", "3\n")
    return path


def legacy_file(pickle_bytes, path, keys=()):
    header = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    header += pickle.dumps(1001, protocol=2)
    header += pickle.dumps({"protocol_version": 1001, "little_endian": True,
                            "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    path.write_bytes(header + pickle_bytes + pickle.dumps(list(keys), protocol=2))
    return path, len(header)


def touch_command(directory):
    return f"touch {directory / CANARY}"


def hostile_pickles(directory):
    """(id, pickle bytes, text the error must contain, offset of the refused opcode or None)."""
    cmd = touch_command(directory)
    out = []

    def call(module, name, arg, proto=b"\x80\x02"):
        body = proto + global_op(module, name) + binunicode(arg) + b"\x85R."
        out.append((f"GLOBAL {module}.{name}", body, f"refusing global {module}.{name}",
                    len(proto)))

    call("os", "system", cmd)
    call("posix", "system", cmd)
    call("nt", "system", cmd)
    call("builtins", "eval", f"__import__('os').system('{cmd}')")
    call("builtins", "exec", f"import os; os.system('{cmd}')")
    call("__builtin__", "eval", f"__import__('os').system('{cmd}')")
    call("subprocess", "getoutput", cmd)
    call("pickle", "loads", "nested")  # nested pickles never get a chance

    class Sys:
        def __reduce__(self):
            return (os.system, (cmd,))

    class Eval:
        def __reduce__(self):
            return (eval, (f"__import__('os').system('{cmd}')",))

    class Chain:  # getattr(__import__('os'), 'system')(cmd), built from __reduce__ chains
        def __reduce__(self):
            return (GetAttrCall(), (cmd,))

    class GetAttrCall:
        def __call__(self, *args):  # pickle wants the first item of a reduce tuple callable
            pass

        def __reduce__(self):
            return (getattr, (Import(), "system"))

    class Import:
        def __reduce__(self):
            return (__import__, ("os",))

    class Nested:  # pickle.loads of an inner hostile pickle
        def __reduce__(self):
            return (pickle.loads, (pickle.dumps(Sys(), protocol=2),))

    for proto in (2, 4, 5):  # protocol 4+ uses STACK_GLOBAL
        data = pickle.dumps(Sys(), protocol=proto)
        out.append((f"reduce posix.system p{proto}", data, "refusing global posix.system", None))
    out.append(("reduce builtins.eval", pickle.dumps(Eval(), protocol=4),
                "refusing global builtins.eval", None))
    out.append(("reduce chain", pickle.dumps(Chain(), protocol=2),
                "refusing global __builtin__.getattr", None))  # protocol 2 spells it so
    out.append(("nested pickle", pickle.dumps(Nested(), protocol=2),
                "refusing global pickle.loads", None))
    # State dicts that are almost right.
    out.append(("whole nn.Module", pickle.dumps(torch.nn.Linear(2, 2), protocol=2),
                "refusing global torch.nn.modules.linear.Linear", None))
    out.append(("numpy array", pickle.dumps({"a": np.zeros(3)}, protocol=2),
                "refusing global numpy.core.multiarray._reconstruct", None))
    out.append(("defaultdict", pickle.dumps(collections.defaultdict(int), protocol=2),
                "refusing global collections.defaultdict", None))
    out.append(("INST", b"(" + binunicode(cmd) + b"ios\nsystem\n.",
                "refusing global os.system (INST", 1 + len(binunicode(cmd))))
    # Resource attacks.
    out.append(("BINUNICODE8 of 2^60 bytes",
                b"\x80\x04\x8d" + struct.pack("<Q", 1 << 60) + b"x.", "exceeds the limit", 2))
    out.append(("LONG4 of 2 GiB", b"\x80\x02\x8b\xff\xff\xff\x7f.", "wider than the limit", 2))
    memo = b"\x80\x02N" + b"".join(b"r" + struct.pack("<I", i) for i in range(5_000_000)) + b"."
    out.append(("memo flood", memo, "memo grows beyond", None))
    laughs = b"\x80\x02]" + b"2\x86" * 60 + b"."  # 2^60 paths through shared tuples
    out.append(("billion laughs", laughs, "too large to search", None))
    deep = b"\x80\x02]" + b"\x85" * 100_000 + b"."
    out.append(("deep nesting", deep, "nested deeper than", None))
    marks = b"\x80\x02" + b"(" * 100_000 + b"."
    out.append(("mark flood", marks, "MARKs", None))
    return out


def hostile_storage_pickles():
    """Persistent ids and tensor shapes that claim more than the file holds."""
    def state_dict(numel, offset, size, stride, storage=b"FloatStorage"):
        p = b"\x80\x02}" + binunicode("w") + global_op("torch._utils", "_rebuild_tensor_v2")
        p += b"((" + binunicode("storage") + global_op("torch", storage.decode())
        p += binunicode("0") + binunicode("cpu") + b"\x8a\x08" + struct.pack("<q", numel) + b"tQ"
        p += b"\x8a\x08" + struct.pack("<q", offset)
        p += b"(" + b"".join(b"\x8a\x08" + struct.pack("<q", s) for s in size) + b"t"
        p += b"(" + b"".join(b"\x8a\x08" + struct.pack("<q", s) for s in stride) + b"t"
        p += b"\x89" + global_op("collections", "OrderedDict") + b")RtRs."
        return p

    return [
        ("storage of 2^60 floats", state_dict(1 << 60, 0, [4], [1]), "more than the whole file"),
        ("view past the storage", state_dict(4, 2, [4], [1]), "reaches beyond its storage"),
        ("size overflow", state_dict(4, 0, [1 << 40, 1 << 40], [1, 1]), "larger than the file"),
        ("stride overflow", state_dict(4, 0, [2, 2], [1 << 62, 1]), "reaches beyond"),
        ("negative stride", state_dict(4, 0, [2], [-1]), "negative"),
        ("broadcast bomb", state_dict(1, 0, [1 << 50], [0]), "larger than the file allows"),
        ("quantized storage", state_dict(4, 0, [4], [1], b"QInt8Storage"),
         "refusing global torch.QInt8Storage"),
    ]


def assert_refused(path, needle, offset, directory):
    for args in (["inspect", path], ["dump", path, directory / "dump_out"],
                 ["convert", path, directory / "out.safetensors"],
                 ["convert", path, directory / "out.bin"]):
        proc = run_tf(*args, check=False)
        assert proc.returncode == EXIT_BAD_INPUT, (args, proc.stderr)
        assert needle in proc.stderr, proc.stderr
        assert str(path) in proc.stderr, proc.stderr
        if offset is not None:
            assert f"at byte {offset}:" in proc.stderr, proc.stderr
        assert not (directory / "dump_out").exists() and not (directory / "out.bin").exists()
    assert not (directory / CANARY).exists(), "a payload ran"


def test_hostile_payloads_are_live(tmp_path):
    """The corpus is not toothless: plain pickle.loads runs these payloads (in a subprocess)."""
    for ident, data, _, _ in hostile_pickles(tmp_path)[:5]:
        if "nt.system" in ident:
            continue
        (tmp_path / "p.pkl").write_bytes(data)
        subprocess.run([sys.executable, "-c", "import pickle,sys; "
                        "pickle.loads(open(sys.argv[1],'rb').read())", tmp_path / "p.pkl"],
                       capture_output=True, timeout=60)
        assert (tmp_path / CANARY).exists(), ident
        (tmp_path / CANARY).unlink()


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_hostile_pickles_are_refused(tmp_path, layout):
    for ident, data, needle, pickle_offset in hostile_pickles(tmp_path):
        work = tmp_path / ident.replace(" ", "_").replace("/", "_")
        work.mkdir()
        if layout == "zip":
            path = torch_zip(data, work / "model.pt")
            base = payload_offset(path, "archive/data.pkl")
        else:
            path, base = legacy_file(data, work / "model.pt")
        offset = None if pickle_offset is None else base + pickle_offset
        try:
            assert_refused(path, needle, offset, work)
        except AssertionError as e:
            raise AssertionError(f"{ident}: {e}") from None
        assert not (tmp_path / CANARY).exists(), ident


def test_hostile_storages_are_refused(tmp_path):
    for ident, data, needle in hostile_storage_pickles():
        work = tmp_path / ident.replace(" ", "_")
        work.mkdir()
        path = torch_zip(data, work / "model.pt", storages=[("0", b"\0" * 16)])
        try:
            assert_refused(path, needle, None, work)
        except AssertionError as e:
            raise AssertionError(f"{ident}: {e}") from None


def test_torchscript_and_other_zips_are_refused(tmp_path):
    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    torch.jit.save(scripted, tmp_path / "ts.pt")
    proc = run_tf("inspect", tmp_path / "ts.pt", "--format", "pytorch", check=False)
    assert proc.returncode == EXIT_BAD_INPUT and "TorchScript" in proc.stderr, proc.stderr
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
    proc = run_tf("inspect", tmp_path / "arrays.npz", "--format", "pytorch", check=False)
    assert proc.returncode == EXIT_BAD_INPUT and "not inside a folder" in proc.stderr
    proc = run_tf("inspect", tmp_path / "arrays.npz", check=False)  # not detected as torch
    assert proc.returncode == EXIT_BAD_INPUT


def test_truncated_and_corrupted_files(tmp_path):
    sd = {"a": random_tensor(torch.float32, (16, 16), seed=7), "b": torch.arange(10)}
    for legacy in (False, True):
        whole = save(sd, tmp_path / f"good_{legacy}.pt", legacy).read_bytes()
        for cut in list(range(0, len(whole), 97)) + [len(whole) - 1]:
            path = tmp_path / f"cut_{legacy}_{cut}.pt"
            path.write_bytes(whole[:cut])
            proc = run_tf("inspect", path, "--format", "pytorch", check=False)
            assert proc.returncode == EXIT_BAD_INPUT, (cut, proc.stderr)
            assert str(path) in proc.stderr
            if cut > 0:
                assert "at byte " in proc.stderr, proc.stderr

    whole = bytearray((tmp_path / "good_False.pt").read_bytes())
    data_at = payload_offset(tmp_path / "good_False.pt", "good_False/data/0")
    whole[data_at + 100] ^= 0x01  # one flipped bit in a tensor's bytes
    (tmp_path / "crc.pt").write_bytes(whole)
    inspect_json(tmp_path / "crc.pt")  # the directory and pickle are intact
    proc = run_tf("dump", tmp_path / "crc.pt", tmp_path / "crc_dump", check=False)
    assert proc.returncode == EXIT_BAD_INPUT and "CRC-32" in proc.stderr
    assert f"at byte {data_at}:" in proc.stderr and "tensor 'a'" in proc.stderr

    whole = bytearray((tmp_path / "good_False.pt").read_bytes())
    cd = whole.rfind(b"PK\x01\x02")
    whole[cd + 42:cd + 46] = struct.pack("<I", len(whole) - 10)  # local header offset
    (tmp_path / "cd.pt").write_bytes(whole)
    proc = run_tf("inspect", tmp_path / "cd.pt", check=False)
    assert proc.returncode == EXIT_BAD_INPUT and "zip local header" in proc.stderr, proc.stderr
