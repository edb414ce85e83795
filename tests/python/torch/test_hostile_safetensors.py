"""Hostile safetensors files: header lengths, shapes and offsets that overflow or point outside the
file, and JSON built to exhaust the parser. Each must be refused with exit 3, naming the file,
the tensor (when the fault is in one tensor's entry) and a byte offset, in bounded time and memory.
"""
import json
import struct

import pytest

from support.hostile import check_refused, every_command, run_limited


def st_file(header, data=b"", header_len=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(text) if header_len is None else header_len
    return struct.pack("<Q", n) + text + data


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


U64 = (1 << 64) - 1

# name -> (file bytes, tensor named in the message or None)
ATTACKS = {
    "header_len_u64_max": (st_file({"w": entry()}, b"\0" * 8, header_len=U64), None),
    "header_len_past_end": (st_file({"w": entry()}, b"\0" * 8, header_len=1 << 40), None),
    "header_len_just_past_end": (st_file(b"{}", header_len=3), None),
    "header_len_zero": (st_file(b"", header_len=0), None),
    "shape_product_overflow": (
        st_file({"w": entry(shape=(1 << 32, 1 << 32, 1 << 32), offsets=(0, 8))}, b"\0" * 8),
        "w"),
    "shape_times_dtype_overflow": (
        st_file({"w": entry(dtype="F64", shape=(1 << 61,), offsets=(0, 8))}, b"\0" * 8), "w"),
    "shape_u64_max": (st_file({"w": entry(shape=(U64,), offsets=(0, 8))}, b"\0" * 8), "w"),
    "shape_above_u64": (st_file(b'{"w":{"dtype":"F32","shape":[18446744073709551616],'
                                b'"data_offsets":[0,8]}}', b"\0" * 8), "w"),
    "shape_negative": (st_file({"w": entry(shape=(-2,))}, b"\0" * 8), "w"),
    # Zero bytes, so no size check catches it; TensorFlow aborted on the dimension -2^63 it
    # became in a converted bundle (issue 13.5).
    "shape_above_i64_with_a_zero": (st_file({"w": entry(shape=(0, 1 << 63), offsets=(0, 0))}),
                                    "w"),
    "shape_float": (st_file(b'{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}',
                            b"\0" * 8), "w"),
    "offsets_past_end": (st_file({"w": entry(offsets=(0, 1 << 40))}, b"\0" * 8), "w"),
    "offsets_u64_max": (st_file({"w": entry(offsets=(U64 - 7, U64))}, b"\0" * 8), "w"),
    "offsets_reversed": (st_file({"w": entry(offsets=(8, 0))}, b"\0" * 8), "w"),
    "offsets_disagree_with_shape": (st_file({"w": entry(shape=(3,), offsets=(0, 8))},
                                            b"\0" * 8), "w"),
    "offsets_overlap": (st_file({"a": entry(offsets=(0, 8)), "b": entry(offsets=(4, 12))},
                                b"\0" * 12), None),
    "offsets_gap": (st_file({"a": entry(offsets=(0, 8)), "b": entry(offsets=(16, 24))},
                            b"\0" * 24), None),
    "data_longer_than_tensors": (st_file({"w": entry()}, b"\0" * 16), None),
    "unknown_dtype": (st_file({"w": entry(dtype="F128")}, b"\0" * 8), "w"),
    "rank_huge": (st_file({"w": entry(shape=(1,) * 100_000, offsets=(0, 4))}, b"\0" * 4), "w"),
    "duplicate_name": (st_file(b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                               b'"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
                               b"\0" * 8), "w"),
    "deep_nesting_in_unknown_field": (
        st_file(b'{"w":{"x":' + b"[" * 200_000 + b"]" * 200_000 +
                b',"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', b"\0" * 8), "w"),
    "deep_nesting_metadata": (st_file(b'{"__metadata__":' + b"{\"a\":" * 100_000 + b"1" +
                                      b"}" * 100_000 + b"}"), None),
    "unterminated_string": (st_file(b'{"w":{"dtype":"F32'), None),
    "bad_utf8_name": (st_file(b'{"\xff\xfe":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
                              b"\0" * 8), None),
    "header_not_object": (st_file(b"[1,2,3]"), None),
    "nul_in_header": (st_file(b'{"w":\x00}'), None),
    "many_tensors_little_data": (
        st_file({f"t{i}": entry(shape=(1 << 20,), offsets=(0, 1 << 22)) for i in range(2000)}),
        None),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_hostile_safetensors_is_refused(name, tmp_path):
    data, tensor = ATTACKS[name]
    path = tmp_path / "evil.safetensors"
    path.write_bytes(data)
    for run in every_command(path, tmp_path):
        check_refused(run, path, tensor=tensor)


def test_huge_header_length_is_refused_before_reading(tmp_path):
    """A 100 MB header limit (the reference's) is enforced from the 8-byte prefix alone: a file
    that claims a 400 MiB header is refused without touching the rest, even though it is that
    big (sparse; under RLIMIT_AS the whole file must still fit the address space to be mapped)."""
    path = tmp_path / "sparse.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 400 << 20))
        f.write(b"{")
        f.truncate((400 << 20) + 8)
    run = run_limited("inspect", path)
    check_refused(run, path)
    assert "limit" in run.stderr


@pytest.mark.parametrize("flavour", ["index_points_outside", "index_weight_map_not_object",
                                     "index_shard_traversal"])
def test_hostile_shard_index(flavour, tmp_path):
    shard = tmp_path / "model-00001-of-00001.safetensors"
    shard.write_bytes(st_file({"w": entry()}, b"\0" * 8))
    if flavour == "index_points_outside":
        doc = {"metadata": {}, "weight_map": {"w": "missing-00001-of-00001.safetensors"}}
    elif flavour == "index_weight_map_not_object":
        doc = {"metadata": {}, "weight_map": [1, 2]}
    else:
        doc = {"metadata": {}, "weight_map": {"w": "../../../../etc/passwd"}}
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps(doc))
    for run in every_command(index, tmp_path):
        assert not run.timed_out and run.returncode >= 0, run.describe()
        assert run.returncode == 3, run.describe()
        assert "index.json" in run.stderr or "passwd" in run.stderr or "missing" in run.stderr, \
            run.describe()


def test_more_tensors_than_the_limit_are_refused_before_building_them(tmp_path):
    """1.1 M empty tensors (the limit is 2^20, docs/hardening.md) used to cost ~700 B each
    (1.75 M took 1.2 GB); the header's entry count is now checked before any entry is built."""
    count = 1_100_000
    body = ",".join(f'"{i}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'
                    for i in range(count))
    path = tmp_path / "empty.safetensors"
    path.write_bytes(st_file(("{" + body + "}").encode()))
    for run in every_command(path, tmp_path):
        check_refused(run, path)
        assert "more than 1048576 tensors" in run.stderr, run.describe()


def test_tensor_name_longer_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "long.safetensors"
    path.write_bytes(st_file({"w" * 5000: entry()}, b"\0" * 8))
    for run in every_command(path, tmp_path):
        check_refused(run, path)
        assert "tensor name of 5000 bytes" in run.stderr, run.describe()
