"""reader[name] is a view of the memory-mapped file, not a copy, where the stored bytes are
already dense little-endian row-major: the array's base is the Mapping, its address lies in this
process's mapping of that very file (/proc/self/maps), and reading a 1 GiB tensor leaves the
resident set where it was. Where the bytes must be converted (a transposed torch view), the array
is a copy and says so."""
import json
import struct

import numpy as np

import tensorferry
from conftest import GPT2

GIB = 1 << 30


def write_big_safetensors(path, nbytes):
    """One f32 tensor of `nbytes` zero bytes: a header and a sparse file (no disk, no I/O)."""
    header = json.dumps({"big": {"dtype": "F32", "shape": [nbytes // 4],
                                 "data_offsets": [0, nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.truncate(8 + len(header) + nbytes)
    return 8 + len(header)


def rss_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def mapping_of(address):
    """(start, end, path) of the /proc/self/maps line holding `address`."""
    for line in open("/proc/self/maps"):
        fields = line.split(maxsplit=5)
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if start <= address < end:
            return start, end, fields[5].strip() if len(fields) > 5 else ""
    raise AssertionError(f"address {address:#x} is in no mapping")


def test_a_1_gib_tensor_is_a_view_of_the_mapping_and_costs_no_memory(tmp_path):
    path = tmp_path / "big.safetensors"
    data_start = write_big_safetensors(path, GIB)
    before = rss_bytes()
    with tensorferry.open(path) as reader:
        array = reader["big"]
        grown = rss_bytes() - before
        assert array.shape == (GIB // 4,) and array.dtype == np.float32
        assert isinstance(array.base, tensorferry._core.Mapping)
        assert array.base.mapped and array.base.offset == data_start
        assert array.ctypes.data == array.base.address
        assert not array.flags.writeable and not array.flags.owndata
        start, end, mapped_path = mapping_of(array.ctypes.data)
        assert mapped_path == str(path) and end - start >= GIB
        assert grown < 64 << 20, f"reading a 1 GiB tensor grew RSS by {grown >> 20} MiB"
        # Two reads view the same pages.
        assert np.shares_memory(array, reader["big"])
    # Closing the reader does not pull the pages from under an array still alive.
    assert array[:4].tolist() == [0.0] * 4 and array[-1] == 0.0


def test_writing_to_the_view_is_refused(tmp_path):
    path = tmp_path / "small.safetensors"
    write_big_safetensors(path, 64)
    with tensorferry.open(path) as reader:
        array = reader["big"]
        try:
            array[0] = 1
        except ValueError as e:
            assert "read-only" in str(e)
        else:
            raise AssertionError("a view of the read-only mapping was writable")
        try:
            array.flags.writeable = True
        except ValueError:
            pass
        else:
            raise AssertionError("the view could be made writable")


def test_a_torch_file_is_viewed_in_place_where_its_storage_is_dense():
    """gpt2-tiny's pytorch_model.bin stores its tensors uncompressed in the zip: dense tensors
    are views of the mapped .bin file."""
    with tensorferry.open(GPT2 / "pytorch_model.bin") as reader:
        array = reader["transformer.wte.weight"]
        assert array.base.mapped
        assert mapping_of(array.ctypes.data)[2] == str(GPT2 / "pytorch_model.bin")
