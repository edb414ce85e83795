"""Issue 12 item 14: JSON is a contract. Every --json document names its schema
("tensorferry.<command>/1") and validates against docs/schemas/<command>.schema.json (run_tf checks
that for every --json run of every suite; these tests cover each command and each case on
purpose); convert --json carries the verify result; no number is written as a string; the
sequence, token and column verify names agree between the text and JSON reports."""
import json
import re
import shutil
import struct
from pathlib import Path

import pytest

from conftest import ROOT, SCHEMAS, run_tf, validate_json_output, write_f32_safetensors

GPT2 = ROOT / "examples" / "gpt2-tiny"


def json_of(*args, rc=0):
    proc = run_tf(*args, "--json", check=False)
    assert proc.returncode == rc, proc.stderr
    return json.loads(proc.stdout)  # run_tf validated it against its schema


def strings_that_are_numbers(doc, path="$"):
    """Every string value that reads as a number ("inf", "1e-5", "nan"), outside non_finite and
    outside the metadata a file stores (strings there are the file's own)."""
    found = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key not in ("non_finite", "metadata"):
                found += strings_that_are_numbers(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += strings_that_are_numbers(value, f"{path}[{i}]")
    elif isinstance(doc, str):
        try:
            float(doc)
            found.append((path, doc))
        except ValueError:
            pass
    return found


def scale_tensor(path, name, factor):
    """Multiplies one f32 tensor of a safetensors file in place."""
    raw = bytearray(path.read_bytes())
    (size,) = struct.unpack("<Q", raw[:8])
    entry = json.loads(raw[8:8 + size])[name]
    begin, end = (8 + size + o for o in entry["data_offsets"])
    values = struct.unpack(f"<{(end - begin) // 4}f", raw[begin:end])
    raw[begin:end] = struct.pack(f"<{len(values)}f", *(v * factor for v in values))
    path.write_bytes(bytes(raw))


def test_every_schema_file_is_a_valid_schema():
    import jsonschema
    names = sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    assert names == [f"{c}.schema.json" for c in ["convert", "diff", "forward", "inspect", "verify"]]
    for path in SCHEMAS.glob("*.schema.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_every_command_names_its_schema(tmp_path):
    model = GPT2 / "pytorch_model.bin"
    docs = {
        "inspect": json_of("inspect", model),
        "inspect --check": json_of("inspect", model, "--check"),
        "verify": json_of("verify", GPT2, GPT2),
        "diff": json_of("diff", GPT2, model),
        "forward": json_of("forward", GPT2, "--tokens", "1,2,3"),
        "convert --dry-run": json_of("convert", GPT2, tmp_path / "d", "--to", "hf-tf2", "--dry-run"),
        "convert --no-verify": json_of("convert", GPT2, tmp_path / "n", "--to", "hf-tf2", "--no-verify"),
        "convert": json_of("convert", GPT2, tmp_path / "c", "--to", "openai-tf1"),
        "convert (container)": json_of("convert", model, tmp_path / "m.safetensors"),
        "convert (container) --dry-run": json_of("convert", model, tmp_path / "d.ckpt", "--dry-run"),
    }
    for what, doc in docs.items():
        command = what.split()[0]
        assert doc["schema"] == f"tensorferry.{command}/1", what
        validate_json_output(doc, command)
        assert strings_that_are_numbers(doc) == [], what
    assert docs["convert --dry-run"]["verify"] is None
    assert docs["convert --dry-run"]["verify_skipped"] == "dry run"
    assert docs["convert --no-verify"]["verify_skipped"] == "--no-verify"


def test_convert_json_carries_the_verify_result(tmp_path):
    doc = json_of("convert", GPT2, tmp_path / "openai", "--to", "openai-tf1")
    verified = doc["verify"]
    assert verified["schema"] == "tensorferry.verify/1" and verified["passed"] is True
    assert "verify_skipped" not in doc
    alone = json_of("verify", GPT2, tmp_path / "openai", "--allow-missing-heads")
    assert [(s["name"], s["status"], s["max_abs_error"]) for s in verified["stages"]] == \
           [(s["name"], s["status"], s["max_abs_error"]) for s in alone["stages"]]
    assert verified["b"]["path"] == str(tmp_path / "openai")


def test_a_failed_verify_is_in_the_convert_json(tmp_path):
    """Layer-1 MLP output weights beyond f16's range become infinite in an f16 cast: convert
    exits 1 and its JSON carries the failed verify (the weights hold infinities on B's side,
    counted, never written as numbers in strings)."""
    src = tmp_path / "src"
    run_tf("convert", GPT2, src, "--to", "hf-pytorch")
    scale_tensor(src / "model.safetensors", "transformer.h.1.mlp.c_proj.weight", 1e7)
    doc = json_of("convert", src, tmp_path / "dst", "--to", "openai-tf1", "--dtype", "f16", rc=1)
    failure = doc["verify"]["first_failure"]
    assert doc["verify"]["passed"] is False and failure["status"] == "NOT FINITE"
    assert "model/h1/mlp/c_proj/w" in failure["note"]
    stage = next(s for s in doc["verify"]["stages"] if s["name"] == failure["stage"])
    assert stage["non_finite_values"]["a"] == 0 and stage["non_finite_values"]["b"] > 0
    assert strings_that_are_numbers(doc) == []


def test_infinite_relative_error_is_null_and_named(tmp_path):
    write_f32_safetensors(tmp_path / "a.safetensors", {"w": [1.0, 2.0]})
    write_f32_safetensors(tmp_path / "b.safetensors", {"w": [0.0, 2.0]})
    doc = json_of("diff", tmp_path / "a.safetensors", tmp_path / "b.safetensors", rc=1)
    (entry,) = doc["tensors"]
    assert entry["max_abs"] == 1.0
    assert entry["max_rel"] is None and entry["non_finite"] == {"max_rel": "inf"}
    assert strings_that_are_numbers(doc) == []
    text = run_tf("diff", tmp_path / "a.safetensors", tmp_path / "b.safetensors", check=False).stdout
    assert re.search(r"DIFFERENT +w +1\.000e\+00 +inf ", text), text


def test_sequence_token_and_column_agree_between_text_and_json(tmp_path):
    a = tmp_path / "a"
    run_tf("convert", GPT2, a, "--to", "hf-pytorch")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    scale_tensor(b / "model.safetensors", "transformer.h.0.attn.c_proj.weight", 1.01)
    text = run_tf("verify", a, b, check=False).stdout
    doc = json_of("verify", a, b, rc=1)
    failure = next(s for s in doc["stages"] if s["name"] == doc["first_failure"]["stage"])
    worst = failure["worst"]
    expected = f"at sequence {worst['sequence']}, token {worst['token']}, column {worst['column']}"
    assert expected in text, (expected, text)
    # The sequence index is the position in "sequences": its length bounds the token index.
    assert worst["token"] < len(doc["sequences"][worst["sequence"]]["tokens"])


def test_a_container_conversion_reports_what_it_wrote_and_what_it_could_not_share(tmp_path):
    """Issue 15: container copies have --json too (kind "container"), the report the Python
    package's convert() returns; the dry run's document is the same less `written`."""
    model = GPT2 / "pytorch_model.bin"
    dry = json_of("convert", model, tmp_path / "m.safetensors", "--dtype", "f16", "--dry-run")
    doc = json_of("convert", model, tmp_path / "m.safetensors", "--dtype", "f16")
    assert doc["kind"] == "container" and doc["dry_run"] is False and dry["dry_run"] is True
    assert "written" not in dry and {k: v for k, v in doc.items() if k not in ("written", "dry_run")} \
        == {k: v for k, v in dry.items() if k != "dry_run"}
    assert doc["source"] == {"checkpoint": str(model), "format": "pytorch"}
    assert doc["target"]["format"] == "safetensors" and doc["dtype"] == "f16"
    assert len(doc["tensors"]) == 29 == doc["written"]["tensors"]
    assert doc["written"]["bytes"] == doc["bytes"] == (tmp_path / "m.safetensors").stat().st_size \
        - 8 - int.from_bytes((tmp_path / "m.safetensors").read_bytes()[:8], "little")
    assert doc["shared"] == [{"name": "lm_head.weight", "shares_with": "transformer.wte.weight",
                              "bytes": 400 * 32 * 2, "tie": True, "left_out": False}]
    inspected = {t["name"]: t for t in json.loads(run_tf("inspect", tmp_path / "m.safetensors",
                                                         "--json").stdout)["tensors"]}
    assert {t["name"]: (t["dtype"], t["shape"]) for t in doc["tensors"]} == \
        {n: (t["dtype"], t["shape"]) for n, t in inspected.items()}
