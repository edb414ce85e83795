"""Hostile PyTorch files: pickles that would run code, allocate without bound or recurse, and zip
containers that lie (bombs, overlapping entries, directories pointing outside the file).

Each file goes through inspect, dump and convert. Every run must exit 3 with a message naming
the file and a byte offset, within 20 s and 200 MiB, and the payload's canary file must not exist.
The payloads are real: tests below prove that Python's own unpickler does run them (it creates
the canary), so a missing canary means tensorferry refused them, not that they were inert.
"""
import collections
import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from pickle_ops import binunicode, global_op
from support.hostile import (CANARY, RSS_FACTOR, assert_no_canary, check_refused,
                             every_command, run_limited)

TOUCH = f"touch {CANARY}"


# --- pickle payloads --------------------------------------------------------------------------

def op_tuple1(item):
    return item + b"\x85"  # TUPLE1


PROTO2 = b"\x80\x02"
REDUCE = b"R"
STOP = b"."


def call(func, *arg_ops):
    """Pickle ops for func(*args) via REDUCE."""
    return func + b"(" + b"".join(arg_ops) + b"t" + REDUCE


def system_payload(module="posix"):
    return PROTO2 + call(global_op(module, "system"), binunicode(TOUCH)) + STOP


def builtins_payload(name):
    code = f"open({CANARY!r}, 'w').close()"
    return PROTO2 + call(global_op("builtins", name), binunicode(code)) + STOP


def getattr_chain_payload():
    # getattr(__import__('os'), 'system')('touch CANARY'): a __reduce__ chain of three calls.
    imported = call(global_op("builtins", "__import__"), binunicode("os"))
    system = call(global_op("builtins", "getattr"), imported, binunicode("system"))
    return PROTO2 + call(system, binunicode(TOUCH)) + STOP


def nested_payload(module="pickle", name="loads"):
    inner = system_payload()
    return PROTO2 + call(global_op(module, name), b"C" + bytes([len(inner)]) + inner) + STOP


def stack_global_payload():
    # Protocol 4: STACK_GLOBAL takes module and name from the stack (short unicode + memo).
    return (b"\x80\x04" + b"\x8c\x05posix" + b"\x8c\x06system" + b"\x93" +
            b"\x8c" + bytes([len(TOUCH)]) + TOUCH.encode() + b"\x85" + REDUCE + STOP)


def inst_payload():
    # Protocol 0 INST: instantiate posix.system with the arguments above the mark.
    return b"(V" + TOUCH.encode() + b"\nios\nsystem\n."


def obj_payload():
    return PROTO2 + b"(" + global_op("posix", "system") + binunicode(TOUCH) + b"o" + STOP


def newobj_payload():
    # subprocess.Popen.__new__ alone runs nothing, but the class must be refused by name anyway.
    return (PROTO2 + global_op("subprocess", "Popen") + b"(" + binunicode(TOUCH) + b"t" +
            b"\x81" + STOP)


def build_setstate_payload():
    # BUILD on an allowed class (OrderedDict) with a state that carries a callable.
    return (PROTO2 + global_op("collections", "OrderedDict") + b")" + REDUCE +
            b"}" + binunicode("x") + global_op("posix", "system") + b"s" + b"b" + STOP)


def persid_payload():
    # A persistent id whose "storage type" is posix.system.
    pid = (b"(" + binunicode("storage") + global_op("posix", "system") + binunicode("0") +
           binunicode("cpu") + b"K\x01" + b"t")
    return PROTO2 + pid + b"Q" + STOP


PAYLOADS = {
    "posix_system": system_payload("posix"),
    "os_system": system_payload("os"),
    "builtins_eval": builtins_payload("eval"),
    "builtins_exec": builtins_payload("exec"),
    "getattr_chain": getattr_chain_payload(),
    "nested_pickle_loads": nested_payload("pickle", "loads"),
    "nested__pickle_loads": nested_payload("_pickle", "loads"),
    "nested_torch_load": PROTO2 + call(global_op("torch", "load"), binunicode(CANARY)) + STOP,
    "stack_global": stack_global_payload(),
    "inst": inst_payload(),
    "obj": obj_payload(),
    "newobj_popen": newobj_payload(),
    "build_setstate": build_setstate_payload(),
    "persid_system": persid_payload(),
    "unknown_global": PROTO2 + call(global_op("__main__", "Evil"), binunicode("x")) + STOP,
    "torch_unknown_attr": PROTO2 + call(global_op("torch", "ops"), binunicode("x")) + STOP,
}

# Payloads Python's own unpickler executes (creating the canary), proving they are live.
LIVE = ["posix_system", "os_system", "builtins_exec", "getattr_chain", "nested_pickle_loads",
        "stack_global", "inst", "obj"]


def legacy_prefix():
    """The three small pickles a legacy (non-zip) torch.save file starts with."""
    return (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2) +
            pickle.dumps({"protocol_version": 1001, "little_endian": True,
                          "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))


@pytest.fixture(scope="module")
def real_zip(tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "real.pt"
    torch.save({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, path)
    return path


def zip_with(real_zip, out, replace):
    """A copy of torch.save's archive with some entries replaced ({suffix: bytes})."""
    with zipfile.ZipFile(real_zip) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            for suffix, new in replace.items():
                if info.filename.endswith(suffix):
                    data = new
            dst.writestr(info.filename, data)
    return out


@pytest.mark.parametrize("name", LIVE)
def test_payload_is_live_for_python(name, tmp_path):
    code = "import pickle, sys; pickle.loads(open(sys.argv[1], 'rb').read())"
    (tmp_path / "p.pkl").write_bytes(PAYLOADS[name])
    subprocess.run([sys.executable, "-c", code, "p.pkl"], cwd=tmp_path, capture_output=True,
                   timeout=60)
    assert (tmp_path / CANARY).exists(), f"{name} is not a live payload"


@pytest.mark.parametrize("name", sorted(PAYLOADS))
@pytest.mark.parametrize("container", ["zip", "legacy", "bare"])
def test_malicious_pickle_is_refused(name, container, real_zip, tmp_path):
    path = tmp_path / "evil.pt"
    if container == "zip":
        zip_with(real_zip, path, {"/data.pkl": PAYLOADS[name]})
    elif container == "legacy":
        path.write_bytes(legacy_prefix() + PAYLOADS[name])
    else:
        path.write_bytes(PAYLOADS[name])
    for run in every_command(path, tmp_path):
        check_refused(run, path)
    assert_no_canary(tmp_path)


# --- allocation, recursion and size attacks ---------------------------------------------------

class _Storage:
    pass


class _FakeTensor:
    def __init__(self, size, stride, offset=0):
        self.size, self.stride, self.offset = size, stride, offset

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (_Storage(), self.offset, self.size, self.stride, False,
                 collections.OrderedDict()))


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, "0", "cpu", 4)
        return None


def tensor_pickle(size, stride, offset=0):
    buf = io.BytesIO()
    _TorchPickler(buf, protocol=2).dump({"w": _FakeTensor(size, stride, offset)})
    return buf.getvalue()


SIZE_ATTACKS = {
    # A 4-element storage claimed to back tensors far larger than the file.
    "huge_shape": tensor_pickle((1 << 40,), (1,)),
    "numel_overflow": tensor_pickle((1 << 32, 1 << 32, 1 << 32), (1, 1, 1)),
    "huge_stride": tensor_pickle((2, 2), (1 << 62, 1)),
    "negative_stride": tensor_pickle((2,), (-1,)),
    "negative_size": tensor_pickle((-2,), (1,)),
    "huge_offset": tensor_pickle((2,), (1,), 1 << 62),
    "offset_past_storage": tensor_pickle((2,), (1,), 3),
}


def raw_pickle_attacks():
    big = 1 << 62
    return {
        # Lengths that promise far more bytes than follow.
        "binbytes8_huge": PROTO2 + b"\x8e" + struct.pack("<Q", big) + STOP,
        "binunicode8_huge": PROTO2 + b"\x8d" + struct.pack("<Q", big) + STOP,
        "binbytes_4g": PROTO2 + b"B" + struct.pack("<I", 0xFFFFFFFF) + STOP,
        "binstring_negative": PROTO2 + b"T" + struct.pack("<i", -5) + STOP,
        "long4_huge": PROTO2 + b"\x8b" + struct.pack("<i", 0x7FFFFFFF) + STOP,
        "frame_huge": b"\x80\x04\x95" + struct.pack("<Q", big) + b"N" + STOP,
        # Memo indices far away: a vector resized to the index would allocate gigabytes.
        # A memo flood: more entries than PickleLimits::max_memo, each at a far-apart key.
        "memo_flood": PROTO2 + b"N" + b"".join(
            b"r" + struct.pack("<I", 0x80000000 + 7 * i) for i in range((1 << 22) + 1)) + STOP,
        "memo_get_missing": PROTO2 + b"j" + struct.pack("<I", 0xFFFFFFF0) + STOP,
        "memoize_then_get_huge": b"\x80\x04N\x94j" + struct.pack("<I", 0x7FFFFFFF) + STOP,
        # Recursion: a million nested lists, a million MARKs, a million stacked Nones.
        "nested_lists": PROTO2 + b"]" * 1_000_000 + b"a" * 999_999 + STOP,
        "nested_tuples": PROTO2 + b"N" + b"\x85" * 1_000_000 + STOP,
        "marks": PROTO2 + b"(" * 1_000_000 + STOP,
        "stack_flood": PROTO2 + b"N" * 5_000_000 + STOP,
        # Self reference: a list that contains itself (memo get of an object under construction).
        "self_reference": PROTO2 + b"]q\x00h\x00a" + b"}" + binunicode("w") + b"h\x00s" + STOP,
        "no_stop": PROTO2 + b"}" + binunicode("w") + b"N",
        "empty": b"",
        "unknown_opcode": PROTO2 + b"\xff" + STOP,
        "pop_empty_stack": PROTO2 + b"0" + STOP,
        "protocol_99": b"\x80\x63N" + STOP,
    }


def test_memo_at_a_huge_index_costs_nothing(real_zip, tmp_path):
    """A memo PUT at index 2^32-1 is legal pickle; it must not size anything by the index."""
    data = PROTO2 + b"}" + b"r" + struct.pack("<I", 0xFFFFFFFF) + STOP
    path = zip_with(real_zip, tmp_path / "memo.pt", {"/data.pkl": data})
    run = run_limited("inspect", path)
    assert run.returncode == 0 and run.max_rss_kb < 64 * 1024 * RSS_FACTOR, run.describe()


@pytest.mark.parametrize("name", sorted(SIZE_ATTACKS))
def test_tensor_sizes_are_checked_before_use(name, real_zip, tmp_path):
    path = zip_with(real_zip, tmp_path / "evil.pt", {"/data.pkl": SIZE_ATTACKS[name]})
    for run in every_command(path, tmp_path):
        check_refused(run, path)


@pytest.mark.parametrize("name", sorted(raw_pickle_attacks()))
@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_pickle_resource_attacks(name, container, real_zip, tmp_path):
    data = raw_pickle_attacks()[name]
    path = tmp_path / "evil.pt"
    if container == "zip":
        zip_with(real_zip, path, {"/data.pkl": data})
    else:
        path.write_bytes(legacy_prefix() + data)
    for run in every_command(path, tmp_path):
        check_refused(run, path)


# --- zip containers that lie ------------------------------------------------------------------

def _eocd_offset(data):
    return data.rindex(b"PK\x05\x06")


def _central_offset(data):
    return struct.unpack_from("<I", data, _eocd_offset(data) + 16)[0]


def _central_records(data):
    """Offsets of the central directory records."""
    pos, out = _central_offset(data), []
    while data[pos:pos + 4] == b"PK\x01\x02":
        out.append(pos)
        n, m, k = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + n + m + k
    return out


def _patch(data, offset, fmt, value):
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def zip_bomb(real_zip, out):
    """data.pkl deflated: 10 GB of zeros claimed (the entry's real payload is small)."""
    with zipfile.ZipFile(real_zip) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            method = zipfile.ZIP_DEFLATED if info.filename.endswith("data.pkl") else zipfile.ZIP_STORED
            dst.writestr(info.filename, src.read(info), compress_type=method)
    data = out.read_bytes()
    # Claim an uncompressed size of 4 GiB - 1 in both headers.
    for rec in _central_records(data):
        name_len = struct.unpack_from("<H", data, rec + 28)[0]
        if data[rec + 46:rec + 46 + name_len].endswith(b"data.pkl"):
            data = _patch(data, rec + 24, "<I", 0xFFFFFFFF)
            local = struct.unpack_from("<I", data, rec + 42)[0]
            data = _patch(data, local + 22, "<I", 0xFFFFFFFF)
    out.write_bytes(data)
    return out


def zip_attacks(real_zip, tmp):
    # Rewritten by Python's zipfile, without torch's ZIP64 end records: there the classic end
    # record's 0xFFFF / 0xFFFFFFFF values would legitimately mean "see the ZIP64 record".
    data = zip_with(real_zip, tmp / "plain.pt", {}).read_bytes()
    assert b"PK\x06\x06" not in data
    recs = _central_records(data)
    eocd = _eocd_offset(data)
    attacks = {}
    attacks["bomb_deflated_pickle"] = zip_bomb(real_zip, tmp / "bomb_src.pt").read_bytes()
    # Two directory records pointing at the same local header: overlapping entries.
    first_local = struct.unpack_from("<I", data, recs[0] + 42)[0]
    attacks["overlap_same_local"] = _patch(data, recs[1] + 42, "<I", first_local)
    # A local header offset inside another entry's payload.
    attacks["overlap_inside_payload"] = _patch(data, recs[1] + 42, "<I", first_local + 40)
    attacks["local_past_end"] = _patch(data, recs[0] + 42, "<I", len(data) + 100)
    attacks["local_4g"] = _patch(data, recs[0] + 42, "<I", 0xFFFFFFF0)
    attacks["size_past_end"] = _patch(_patch(data, recs[-1] + 20, "<I", 0x7FFFFFFF),
                                      recs[-1] + 24, "<I", 0x7FFFFFFF)
    attacks["central_offset_past_end"] = _patch(data, eocd + 16, "<I", len(data) + 1)
    attacks["central_size_huge"] = _patch(data, eocd + 12, "<I", 0xFFFFFFFF)
    attacks["entry_count_65535"] = _patch(_patch(data, eocd + 8, "<H", 0xFFFF), eocd + 10,
                                          "<H", 0xFFFF)
    attacks["name_length_huge"] = _patch(data, recs[0] + 28, "<H", 0xFFFF)
    attacks["multi_disk"] = _patch(data, eocd + 4, "<H", 1)
    attacks["encrypted"] = _patch(data, recs[0] + 8, "<H", 1)
    # ZIP64: an end record claiming 2^60 entries at an offset beyond the file.
    z64 = (b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, 1 << 60, 1 << 60,
                                       1 << 40, 1 << 50))
    z64_at = eocd
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, z64_at, 1)
    eocd_rec = bytearray(data[eocd:])
    struct.pack_into("<HHIi", eocd_rec, 8, 0xFFFF, 0xFFFF, 0xFFFFFFFF, -1)
    attacks["zip64_huge_count"] = data[:eocd] + z64 + locator + bytes(eocd_rec)
    attacks["zip64_locator_past_end"] = (
        data[:eocd] + b"PK\x06\x07" + struct.pack("<IQI", 0, 1 << 62, 1) + bytes(eocd_rec))
    attacks["eocd_only"] = data[eocd:]
    attacks["comment_length_lies"] = _patch(data, eocd + 20, "<H", 0xFFFF)
    return attacks


ZIP_ATTACK_NAMES = ["bomb_deflated_pickle", "overlap_same_local", "overlap_inside_payload",
                    "local_past_end", "local_4g", "size_past_end", "central_offset_past_end",
                    "central_size_huge", "entry_count_65535", "name_length_huge", "multi_disk",
                    "encrypted", "zip64_huge_count", "zip64_locator_past_end", "eocd_only",
                    "comment_length_lies"]


@pytest.mark.parametrize("name", ZIP_ATTACK_NAMES)
def test_lying_zip_is_refused(name, real_zip, tmp_path):
    data = zip_attacks(real_zip, tmp_path)[name]
    path = tmp_path / "evil.pt"
    path.write_bytes(data)
    for run in every_command(path, tmp_path):
        # An archive whose structure cannot be found at all is refused by detection, which
        # names the file but has no offset to point at.
        check_refused(run, path, offset=name not in ("eocd_only",))


def test_storage_crc_mismatch_names_tensor_and_offset(real_zip, tmp_path):
    """A flipped byte in a storage: dump and convert read it and refuse, naming the tensor."""
    data = bytearray(real_zip.read_bytes())
    with zipfile.ZipFile(real_zip) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    payload = info.header_offset + 30 + name_len + extra_len
    data[payload + 5] ^= 0x10
    path = tmp_path / "flipped.pt"
    path.write_bytes(bytes(data))
    assert run_limited("inspect", path).returncode == 0  # inspect reads no tensor bytes
    for run in every_command(path, tmp_path)[1:]:
        check_refused(run, path, tensor="w")
        assert f"at byte {payload}" in run.stderr, run.describe()
    run = run_limited("inspect", "--check", path)
    check_refused(run, path, tensor="w")


def test_tensor_used_as_a_dict_key_is_refused(tmp_path):
    """torch.load gives {tensor: 1} back; tensorferry used to drop the tensor and write an empty
    checkpoint (exit 0)."""
    path = tmp_path / "key.pt"
    torch.save({torch.ones(2): 1, "b": {(torch.zeros(1), "x"): 2}}, path)
    for run in every_command(path, tmp_path):
        check_refused(run, path)
        assert "used as a dict key" in run.stderr, run.describe()


def test_missing_storage_record_names_tensor_and_offset(real_zip, tmp_path):
    """A storage whose data/KEY record is absent: the message names the tensor viewing it and the
    offset of the persistent id naming it in data.pkl (it used to name neither)."""
    path = tmp_path / "renamed.pt"
    with zipfile.ZipFile(real_zip) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            name = info.filename
            dst.writestr(name[:-1] + "7" if name.endswith("/data/0") else name, src.read(info))
    for run in every_command(path, tmp_path):
        check_refused(run, path, tensor="w")
        assert "has no record" in run.stderr, run.describe()


def test_millions_of_aliases_are_refused_in_bounded_memory(tmp_path):
    """1.1 M names for one 24-byte tensor (3.9 M used to take 3.4 GB in convert): more names
    than the tensor limit (2^20, docs/hardening.md) are refused before any is built."""
    t = torch.arange(6, dtype=torch.float32)
    path = tmp_path / "aliases.pt"
    torch.save({f"n{i}": t for i in range(1_100_000)}, path)
    for run in every_command(path, tmp_path):
        check_refused(run, path)
        assert "more than 1048576 tensors" in run.stderr, run.describe()
