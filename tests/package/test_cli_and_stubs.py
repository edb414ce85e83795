"""The wheel installs the `tensorferry` command (the same C++ program, run by the extension
module) and ships typed stubs."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import tensorferry
from conftest import GPT2, run_cli


def venv_command():
    path = Path(sys.executable).parent / "tensorferry"
    assert path.exists(), f"the wheel installed no tensorferry command in {path.parent}"
    return path


def test_the_console_command_prints_what_the_cli_prints(tmp_path):
    for args in (["inspect", GPT2 / "pytorch_model.bin"],
                 ["diff", GPT2, GPT2 / "pytorch_model.bin"],
                 ["verify", GPT2, GPT2],
                 ["conver", "a", "b"],
                 ["inspect", tmp_path / "missing.safetensors"],
                 ["--version"]):
        ours = subprocess.run([str(venv_command()), *map(str, args)], capture_output=True,
                              text=True, timeout=600)
        cli = run_cli(*args, check=False)
        assert (ours.returncode, ours.stdout, ours.stderr) == \
            (cli.returncode, cli.stdout, cli.stderr), args


def test_the_console_command_converts(tmp_path):
    proc = subprocess.run([str(venv_command()), "convert", str(GPT2 / "pytorch_model.bin"),
                           str(tmp_path / "m.safetensors"), "-q"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    with tensorferry.open(tmp_path / "m.safetensors") as reader:
        assert len(reader) == 29


def test_typed_stubs_are_shipped():
    package = Path(tensorferry.__file__).parent
    assert (package / "py.typed").exists()
    stub = (package / "_core.pyi").read_text()
    for name in ("class Reader", "class Mapping", "def convert(", "def verify(", "def diff(",
                 "def main("):
        assert name in stub, name
