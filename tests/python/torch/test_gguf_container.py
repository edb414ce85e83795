"""GGUF as a container (issue 14), against llama.cpp's gguf-py (the version vendored with its
converter): what tensorferry writes, gguf-py reads with the same names, types, shapes and bytes;
what gguf-py writes (every metadata type, dense and quantized tensors), tensorferry lists and
converts to safetensors, with q8_0, q4_0, q4_K and q6_K dequantized exactly as gguf-py does."""
import re
import subprocess

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import BIN, inspect_json, run_tf
from support.hostile import check_printable
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


def add_every_scalar_type(w):
    """One metadata entry of each scalar type, at values near the ends of its range."""
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


def write_with_gguf_py(path, tensors, alignment=None):
    w = gguf.GGUFWriter(path, "llama")
    if alignment:
        w.add_custom_alignment(alignment)
    add_every_scalar_type(w)
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



# inspect's plain-text metadata section, held to gguf-py's reading of the same file.

GGUF_PY_TYPE_NAMES = {"UINT8": "u8", "INT8": "i8", "UINT16": "u16", "INT16": "i16",
                      "UINT32": "u32", "INT32": "i32", "FLOAT32": "f32", "BOOL": "bool",
                      "STRING": "string", "UINT64": "u64", "INT64": "i64", "FLOAT64": "f64"}

HOSTILE_STRINGS = {
    "h.ansi": b"\x1b[2J\x1b[31mred\x07",        # clear screen, colour, bell
    "h.lines": b"a\rb\nc\td\x00e\x7f",          # carriage return, newline, NUL, DEL
    "h.c1": "\u009b31mx\u0085".encode(),         # C1 CSI and NEL, valid UTF-8
    "h.bidi": "\u202eevil\u2066\u200b\ufeff".encode(),
    "h.bad_utf8": b"\xff\xfe\xc3(\xed\xa0\x80\xe2\x82",  # invalid, surrogate, cut short
    "h.quotes": b'say "hi" \\ back',
    "h.unicode": "héllo ✓ Ġthe 日本".encode(),   # printable UTF-8 stays as it is
    "h.long": b"x" * 3000 + b"\x1b",
}


def unescape(text):
    """The bytes an escaped inspect string stands for."""
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif text[i + 1] in 'nrt"\\':
            out += {"n": b"\n", "r": b"\r", "t": b"\t", '"': b'"', "\\": b"\\"}[text[i + 1]]
            i += 2
        elif text[i + 1] == "x":
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            assert text[i + 1:i + 3] == "u{", text
            end = text.index("}", i)
            out += chr(int(text[i + 3:end], 16)).encode()
            i = end + 1
    return bytes(out)


def parse_string(text):
    """(bytes shown, full byte count) of an inspect string: "..." or "..."... (N bytes)."""
    m = re.fullmatch(r'"((?:[^"\\]|\\.|\\u\{[0-9a-f]+\})*)"(?:\.\.\. \((\d+) bytes\))?', text)
    assert m, text
    shown = unescape(m.group(1))
    return shown, int(m.group(2)) if m.group(2) else len(shown)


def split_elements(text):
    """The entries of an inspect array "[a, b, ... (N strings)]" and N (None when complete)."""
    assert text.startswith("[") and text.endswith("]"), text
    body, count = text[1:-1], None
    m = re.search(r"(?:, )?\.\.\. \((\d+) \w+\)$", body)
    if m:
        body, count = body[:m.start()], int(m.group(1))
    items, i = [], 0
    while i < len(body):
        if body[i] == '"':
            m = re.match(r'"(?:[^"\\]|\\.|\\u\{[0-9a-f]+\})*"(?:\.\.\. \(\d+ bytes\))?', body[i:])
            items.append(m.group(0))
            i += m.end()
        else:
            end = body.find(", ", i)
            end = len(body) if end < 0 else end
            items.append(body[i:end])
            i = end
        if body.startswith(", ", i):
            i += 2
    return items, count


def metadata_lines(stdout):
    """{key: (type, value text)} of inspect's metadata section, and its heading."""
    lines = stdout.split("\n")
    heading = lines[0]
    assert heading.startswith("GGUF version "), heading
    assert lines[1].split() == ["key", "type", "value"], lines[1]
    entries = {}
    for line in lines[2:lines.index("")]:
        m = re.fullmatch(r"  (\S+) +(\S+) +(.*)", line)
        assert m, line
        entries[m.group(1)] = (m.group(2), m.group(3))
    return heading, entries


def check_scalar(kind, text, raw, key):
    if kind == "string":
        shown, total = parse_string(text)
        assert total == len(raw), key
        assert raw.startswith(shown) and len(shown) >= min(len(raw), 40), key
    elif kind == "bool":
        assert text == ("true" if raw else "false"), key
    elif kind == "f32":
        assert np.float32(float(text)).tobytes() == np.float32(raw).tobytes(), key
    elif kind == "f64":
        assert float(text) == float(raw), key
    else:
        assert int(text) == int(raw), key


def test_inspect_text_shows_the_metadata_gguf_py_reads(tmp_path):
    path = tmp_path / "m.gguf"
    w = gguf.GGUFWriter(path, "llama")
    add_every_scalar_type(w)
    w.add_float32("t.f32_tiny", 1e-6)
    w.add_float32("t.f32_big", 3e38)
    w.add_float64("t.f64_third", 1 / 3)
    for key, raw in HOSTILE_STRINGS.items():
        w.add_key_value(key, raw, gguf.GGUFValueType.STRING)
    tokens = [f"tok{i}".encode() for i in range(5000)]
    tokens[1] = b"\x1b]0;title\x07"
    w.add_key_value("tokenizer.ggml.tokens", tokens, gguf.GGUFValueType.ARRAY,
                    sub_type=gguf.GGUFValueType.STRING)
    w.add_array("tokenizer.ggml.token_type", list(range(5000)))
    w.add_array("t.short", [1.5, -2.25])
    w.add_tensor("x", np.zeros((2, 32), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    raw_stdout = subprocess.run([str(BIN), "inspect", str(path)], capture_output=True,
                                check=True).stdout
    text = check_printable(raw_stdout)  # nothing a terminal would act on
    assert max(len(line) for line in text.split("\n")) < 1000

    heading, entries = metadata_lines(text)
    reader = gguf.GGUFReader(path)
    assert heading == f"GGUF version 3, alignment 32, {len(entries)} metadata entries:"
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert list(entries) == list(fields)  # every entry, in file order
    for key, field in fields.items():
        kind, value = entries[key]
        types = [gguf.GGUFValueType(t).name for t in field.types]
        if types[0] != "ARRAY":
            assert kind == GGUF_PY_TYPE_NAMES[types[0]], key
            raw = field.parts[field.data[0]]
            check_scalar(kind, value, raw.tobytes() if kind == "string" else raw[0], key)
            continue
        element = GGUF_PY_TYPE_NAMES[types[1]]
        assert kind == f"[{element}]", key
        items, count = split_elements(value)
        assert (count if count is not None else len(items)) == len(field.data), key
        assert 1 <= len(items) <= 16 and (count is None) == (len(items) == len(field.data)), key
        for item, index in zip(items, field.data):
            raw = field.parts[index]
            check_scalar(element, item, raw.tobytes() if element == "string" else raw[0], key)

    # The hostile strings read back to their bytes (the long one to its first bytes and length).
    for key, raw in HOSTILE_STRINGS.items():
        shown, total = parse_string(entries[key][1])
        assert total == len(raw) and (shown == raw or key == "h.long"), key
    assert entries["h.unicode"][1] == '"héllo ✓ Ġthe 日本"'
    assert entries["h.long"][1] == '"' + "x" * 200 + '"... (3001 bytes)'
