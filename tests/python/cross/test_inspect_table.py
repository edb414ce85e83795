"""Issue 12 item 15: inspect's columns stay aligned whatever the dtype names, shapes and sizes
(f8_e4m3fn is as long as the old fixed dtype column; before, it ran into the shape)."""
import json
import struct

from conftest import run_tf


def write_safetensors(path, tensors):
    """{name: (safetensors dtype, shape, element size)}, zero-filled."""
    header, offset = {}, 0
    for name, (dtype, shape, itemsize) in tensors.items():
        size = itemsize
        for d in shape:
            size *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(offset))


def test_columns_line_up_for_long_dtypes_and_shapes(tmp_path):
    path = tmp_path / "mixed.safetensors"
    write_safetensors(path, {
        "a": ("F8_E4M3", [4, 4], 1),
        "b.weight": ("F32", [2, 3], 4),
        "c": ("F8_E5M2", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2], 1),
        "d": ("BF16", [3], 2),
    })
    lines = run_tf("inspect", path).stdout.splitlines()
    header, rows = lines[0], lines[1:-1]
    assert len(rows) == 4
    starts = {column: header.index(column) for column in ("dtype", "shape", "size", "offset")}
    for row in rows:
        for column, start in starts.items():
            # every column starts where its heading does, after a space
            assert row[start - 1] == " " and row[start] != " ", (column, row, header)
    assert "f8_e4m3fn " in rows[0] and "f8_e5m2" in rows[2]
