"""Hostile tensor names: a checkpoint is untrusted input, and whatever it names its tensors (an
escape sequence that clears the screen, a carriage return that overwrites the line, a
right-to-left override, NUL, C1 controls, bytes that are not UTF-8) must reach the terminal
escaped (core/printable.h) in every command's plain output and in error messages, and must keep
--json valid JSON that names the tensor as the library that wrote it reads it back.
"""
import json
import shutil
import struct
import zipfile

import safetensors.torch
import torch

from conftest import ROOT
from support.hostile import check_printable, run_raw as run

# name -> how plain output shows it
HOSTILE = {
    "a\x1b[2Jb": "a\\x1b[2Jb",
    "c\rd": "c\\rd",
    "e\u202ef": "e\\u{202e}f",
    "g\x00h": "g\\x00h",
    "i\bj": "i\\x08j",
    "k\x9bl": "k\\u{009b}l",
    "m\x7fn": "m\\x7fn",
    "o\u2066p": "o\\u{2066}p",
}
# torch.save writes a str key with surrogatepass: this one reaches the file as ED B3 BF, three
# bytes that are not UTF-8.
LONE_SURROGATE = "s\udcff"
LONE_SURROGATE_SHOWN = "s\\xed\\xb3\\xbf"


def safetensors_bytes(names):
    """A safetensors file written byte by byte: the header is JSON, so the names are \\u escapes."""
    header = {}
    for i, name in enumerate(names):
        header[name] = {"dtype": "F32", "shape": [2], "data_offsets": [8 * i, 8 * i + 8]}
    text = json.dumps(header).encode()
    data = b"".join(struct.pack("<2f", i, i + 0.5) for i in range(len(names)))
    return struct.pack("<Q", len(text)) + text + data


def test_inspect_shows_hostile_safetensors_names_escaped(tmp_path):
    by_hand = tmp_path / "by_hand.safetensors"
    by_hand.write_bytes(safetensors_bytes(HOSTILE))
    by_library = tmp_path / "by_library.safetensors"
    safetensors.torch.save_file({n: torch.full((2,), float(i)) for i, n in enumerate(HOSTILE)},
                                by_library)
    for path in (by_hand, by_library):
        text = check_printable(run("inspect", path).stdout)
        for shown in HOSTILE.values():
            assert f"\n{shown} " in text, (shown, text)

        doc = json.loads(run("inspect", path, "--json").stdout.decode("utf-8"))
        assert [t["name"] for t in doc["tensors"]] == list(
            safetensors.torch.load_file(path)), path


def test_diff_shows_hostile_names_escaped(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    safetensors.torch.save_file({n: torch.full((2,), float(i)) for i, n in enumerate(HOSTILE)}, a)
    safetensors.torch.save_file({n: torch.full((2,), i + 1.0) for i, n in enumerate(HOSTILE)}, b)
    text = check_printable(run("diff", a, b, rc=1).stdout)
    for shown in HOSTILE.values():
        assert f"DIFFERENT   {shown} " in text, (shown, text)

    doc = json.loads(run("diff", a, b, "--json", rc=1).stdout.decode("utf-8"))
    assert sorted(t["name_a"] for t in doc["tensors"]) == sorted(HOSTILE)


def test_torch_bin_names_escaped_in_inspect_and_convert(tmp_path):
    shared = torch.arange(4.0)
    state = {name: torch.full((2,), float(i)) for i, name in enumerate(HOSTILE)}
    state["tied\x1b]0;title\x07"] = shared
    state["head\u202e"] = shared  # the same storage: inspect and convert say so, naming both
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path)

    text = check_printable(run("inspect", path).stdout)
    for shown in HOSTILE.values():
        assert f"\n{shown} " in text, (shown, text)
    assert "shares storage with tied\\x1b]0;title\\x07" in text, text

    doc = json.loads(run("inspect", path, "--json").stdout.decode("utf-8"))
    assert [t["name"] for t in doc["tensors"]] == list(torch.load(path, weights_only=True))

    out = tmp_path / "model.safetensors"
    text = check_printable(run("convert", path, out).stdout)
    assert "note: head\\u{202e} shares storage with tied\\x1b]0;title\\x07" in text, text
    assert sorted(safetensors.torch.load_file(out)) == sorted(state)
    text = check_printable(run("convert", path, tmp_path / "dry.safetensors", "--dry-run").stdout)
    assert "head\\u{202e}" in text, text


def test_names_that_are_not_utf8_keep_json_valid(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    torch.save({LONE_SURROGATE: torch.zeros(2), "ok": torch.ones(2)}, path)
    assert list(torch.load(path, weights_only=True)) == [LONE_SURROGATE, "ok"]

    text = check_printable(run("inspect", path).stdout)
    assert f"\n{LONE_SURROGATE_SHOWN} " in text, text
    # JSON cannot hold a lone surrogate (as Python reads it back) as UTF-8: its bytes come out
    # as U+FFFD, valid JSON that still says something was there.
    raw = run("inspect", path, "--json").stdout
    doc = json.loads(raw.decode("utf-8"))
    assert [t["name"] for t in doc["tensors"]] == ["s\ufffd\ufffd\ufffd", "ok"]

    # A safetensors header cannot hold it: refused (exit 2: a .bin output can), the message
    # naming it escaped.
    result = run("convert", path, tmp_path / "out.safetensors", rc=2)
    message = check_printable(result.stderr)
    assert f"tensor '{LONE_SURROGATE_SHOWN}'" in message, message


def test_error_messages_show_hostile_names_escaped(tmp_path):
    def st_file(header_text):
        return struct.pack("<Q", len(header_text)) + header_text + b"\0" * 8

    cases = {
        # a bad entry: the message names the tensor
        "shape.safetensors": (
            b'{"a\\u001b[2Jb":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}',
            "tensor 'a\\x1b[2Jb'"),
        # a dtype read from the file, echoed in the message
        "dtype.safetensors": (
            b'{"w":{"dtype":"F3\\u001b[2J\\u202e","shape":[2],"data_offsets":[0,8]}}',
            '"F3\\x1b[2J\\u{202e}"'),
        # a lone surrogate escape and raw bytes that are not UTF-8 (safetensors' own library
        # refuses both too)
        "surrogate.safetensors": (
            b'{"s\\udcff":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', "surrogate"),
        "bytes.safetensors": (
            b'{"s\xff\x1b[2J":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', "UTF-8"),
    }
    for name, (header, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(st_file(header))
        for command in (["inspect", path], ["convert", path, tmp_path / "o.bin"],
                        ["diff", path, path]):
            message = check_printable(run(*command, rc=3).stderr)
            assert message.startswith("tensorferry: ") and name in message, message
            assert expected in message, (command, message)


def test_model_conversion_plan_and_report_show_hostile_names_escaped(tmp_path):
    source = tmp_path / "gpt2"
    shutil.copytree(ROOT / "examples" / "gpt2-tiny", source)
    checkpoint = source / "pytorch_model.bin"
    state = torch.load(checkpoint, weights_only=True)
    state["extra\x1b[2J\u202e"] = torch.zeros(2)  # not a gpt2 tensor: skipped, and said so
    torch.save(state, checkpoint)
    shown = "extra\\x1b[2J\\u{202e}"

    plan = check_printable(run("convert", source, tmp_path / "dry", "--to", "openai-tf1",
                               "--dry-run").stdout)
    assert f"\n  {shown}: not in the gpt2 table" in plan, plan
    report = check_printable(run("convert", source, tmp_path / "openai", "--to",
                                 "openai-tf1").stdout)
    assert f"note: unknown tensor skipped: {shown}\n" in report, report


def test_zip_entry_names_in_messages_are_escaped(tmp_path):
    saved = tmp_path / "saved.bin"
    torch.save({"w": torch.arange(4.0)}, saved)
    hostile = tmp_path / "hostile.bin"
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(hostile, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():  # the archive's folder renamed, as torch.save names it
            dst.writestr(info.filename.replace("saved/", "a\x1b[2J\u202e/", 1),
                         src.read(info.filename))
    assert list(torch.load(hostile, weights_only=True)) == ["w"]
    data = bytearray(hostile.read_bytes())
    # A bit flip in the byteorder record: `inspect --check` names the entry.
    at = data.index(b"little", data.index(b"/byteorder") + len("/byteorder"))
    data[at + 1] ^= 0x06
    hostile.write_bytes(bytes(data))

    message = check_printable(run("inspect", hostile, "--check", rc=3).stderr)
    assert 'entry "a\\x1b[2J\\u{202e}/byteorder" is corrupt' in message, message
