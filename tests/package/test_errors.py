"""Errors are exceptions of one class per exit code of the CLI (BadInputError 3, UsageError 2,
IOError 4 (an OSError too), VerifyError 1), carrying path, tensor and byte offset, with the very
message the CLI prints for the same input. The hostile inputs are those of the CLI's tests, made
by hand here (the package venv has no framework): malformed headers, ranges outside the file,
truncated archives, a flipped byte under a checksum, garbage where a format's magic is."""
import json
import shutil
import struct
import zipfile

import numpy as np
import pytest

import tensorferry
from conftest import GPT2, run_cli


def safetensors_bytes(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def read_everything(path):
    with tensorferry.open(path) as reader:
        for name in reader:
            reader[name]


def hostile_inputs(work):
    """{name: path} of inputs every command must refuse as bad input."""
    files = {
        "header length beyond the file": struct.pack("<Q", 1 << 40) + b"{}",
        "header not JSON": struct.pack("<Q", 4) + b"{{{{",
        "data offsets outside the file": safetensors_bytes(
            {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
        "shape and offsets disagree": safetensors_bytes(
            {"w": {"dtype": "F32", "shape": [5], "data_offsets": [0, 16]}}, b"\0" * 16),
        "unknown dtype": safetensors_bytes(
            {"w": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
        "element count overflows": safetensors_bytes(
            {"w": {"dtype": "F32", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 4]}},
            b"\0" * 4),
        "hdf5 magic then garbage": b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4,
        "nothing recognisable": b"just some text, not a checkpoint\n" * 10,
    }
    paths = {}
    for i, (what, data) in enumerate(files.items()):
        suffix = ".h5" if "hdf5" in what else ".safetensors"
        paths[what] = work / f"hostile{i}{suffix}"
        paths[what].write_bytes(data)
    source = (GPT2 / "pytorch_model.bin").read_bytes()
    paths["torch zip truncated"] = work / "truncated.bin"
    paths["torch zip truncated"].write_bytes(source[:len(source) // 2])
    # A flipped byte inside a tensor record: its CRC-32 no longer matches.
    with zipfile.ZipFile(GPT2 / "pytorch_model.bin") as z:
        record = next(i for i in z.infolist() if "/data/" in i.filename and i.file_size > 1000)
        at = record.header_offset + 30 + len(record.filename.encode()) + len(record.extra) + 100
    flipped = bytearray(source)
    flipped[at] ^= 0x01
    paths["torch record CRC mismatch"] = work / "flipped.bin"
    paths["torch record CRC mismatch"].write_bytes(bytes(flipped))
    bundle = work / "bundle"
    bundle.mkdir()
    (bundle / "model.ckpt.index").write_bytes(bytes(range(200)))
    (bundle / "model.ckpt.data-00000-of-00001").write_bytes(b"\0" * 64)
    paths["tf bundle index garbage"] = bundle / "model.ckpt"
    return paths


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return hostile_inputs(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("what", [
    "header length beyond the file", "header not JSON", "data offsets outside the file",
    "shape and offsets disagree", "unknown dtype", "element count overflows",
    "hdf5 magic then garbage", "nothing recognisable", "torch zip truncated",
    "torch record CRC mismatch", "tf bundle index garbage"])
def test_hostile_input_raises_bad_input_with_the_clis_message(hostile, tmp_path, what):
    path = hostile[what]
    with pytest.raises(tensorferry.BadInputError) as caught:
        read_everything(path)
    error = caught.value
    assert isinstance(error, tensorferry.Error) and isinstance(error, ValueError)
    assert error.exit_code == 3 and error.path
    # `dump` reads every tensor in file order, as read_everything does.
    cli = run_cli("dump", path, tmp_path / "dump", check=False)
    assert cli.returncode == 3
    assert cli.stderr == f"tensorferry: {error}\n"
    assert str(error).startswith(f"{error.path}: ")
    if error.tensor:
        assert f"tensor '{error.tensor}'" in str(error)
    if error.offset is not None:
        assert f"at byte {error.offset}:" in str(error)


def test_a_checksum_mismatch_names_the_tensor_and_the_byte(hostile):
    with pytest.raises(tensorferry.BadInputError) as caught:
        read_everything(hostile["torch record CRC mismatch"])
    error = caught.value
    assert error.path == str(hostile["torch record CRC mismatch"])
    assert error.tensor and error.offset is not None
    assert "CRC" in error.message or "checksum" in error.message


def test_usage_errors_raise_usage_error_with_the_clis_message(tmp_path):
    src = GPT2 / "pytorch_model.bin"
    with pytest.raises(tensorferry.UsageError) as caught:
        tensorferry.convert(src, tmp_path / "out.safetensors", dtype="f7")
    cli = run_cli("convert", src, tmp_path / "out.safetensors", "--dtype", "f7", check=False)
    assert cli.returncode == 2 and cli.stderr == f"tensorferry: {caught.value}\n"
    assert caught.value.exit_code == 2
    with pytest.raises(tensorferry.UsageError):
        tensorferry.convert(src, tmp_path / "x", to="openai-tf2")
    with pytest.raises(tensorferry.UsageError):
        tensorferry.open(src, format="zip")


def test_an_existing_output_and_an_unwritable_place_are_errors_of_their_kind(tmp_path):
    src = GPT2 / "pytorch_model.bin"
    tensorferry.convert(src, tmp_path / "out.safetensors")
    with pytest.raises(tensorferry.Error) as caught:
        tensorferry.convert(src, tmp_path / "out.safetensors")  # exists, no force
    cli = run_cli("convert", src, tmp_path / "out.safetensors", check=False)
    assert cli.returncode == caught.value.exit_code
    assert cli.stderr == f"tensorferry: {caught.value}\n"
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(tensorferry.IOError) as caught:
        tensorferry.convert(src, tmp_path / "file" / "out.safetensors")
    assert isinstance(caught.value, OSError) and caught.value.exit_code == 4
    cli = run_cli("convert", src, tmp_path / "file" / "out.safetensors", check=False)
    assert cli.returncode == 4 and cli.stderr == f"tensorferry: {caught.value}\n"
    with pytest.raises(tensorferry.IOError):
        tensorferry.open(tmp_path / "missing.safetensors")


def scale_tensor(path, name, factor):
    """Multiplies one f32 tensor of a safetensors file in place."""
    raw = bytearray(path.read_bytes())
    (size,) = struct.unpack("<Q", raw[:8])
    begin, end = json.loads(raw[8:8 + size])[name]["data_offsets"]
    at = 8 + size
    values = np.frombuffer(bytes(raw[at + begin:at + end]), dtype="<f4") * factor
    raw[at + begin:at + end] = values.astype("<f4").tobytes()
    path.write_bytes(bytes(raw))


def test_a_conversion_that_fails_its_verify_raises_verify_error_and_publishes_nothing(tmp_path):
    """Layer-1 MLP weights beyond f16's range become infinite in an f16 cast (as in the CLI's
    JSON contract test)."""
    src = tmp_path / "src"
    tensorferry.convert(GPT2, src, to="hf-pytorch")
    scale_tensor(src / "model.safetensors", "transformer.h.1.mlp.c_proj.weight", 1e7)
    with pytest.raises(tensorferry.VerifyError) as caught:
        tensorferry.convert(src, tmp_path / "dst", to="openai-tf1", dtype="f16")
    error = caught.value
    assert error.exit_code == 1 and error.path == str(tmp_path / "dst")
    assert error.report.verify["passed"] is False
    assert error.report.verify["first_failure"]["status"] == "NOT FINITE"
    assert not (tmp_path / "dst").exists()
    cli = run_cli("convert", src, tmp_path / "dst", "--to", "openai-tf1", "--dtype", "f16",
                  "--json")
    assert cli.returncode == 1
    assert json.loads(cli.stdout)["verify"]["first_failure"] == \
        error.report.verify["first_failure"]
