"""Issue 12 item 12: a CLI that guides. Mistyped commands and option values get the closest valid
word and the whole list; a file given for a model folder is named with what was expected; a model
output named like a file says it is a folder; -q works everywhere; every --help ends with examples
and the exit codes."""
import shutil
import struct
import json

import pytest

from conftest import ROOT, run_tf, write_f32_safetensors

GPT2 = ROOT / "examples" / "gpt2-tiny"
COMMANDS = ["inspect", "convert", "dump", "verify", "diff"]


def usage_error(*args):
    proc = run_tf(*args, check=False)
    assert proc.returncode == 2, f"exit {proc.returncode}: {proc.stderr}"
    assert proc.stdout == ""
    return proc.stderr


@pytest.mark.parametrize("typed,meant", [("conver", "convert"), ("inpsect", "inspect"),
                                         ("verfy", "verify"), ("dif", "diff")])
def test_misspelled_command_gets_the_closest(typed, meant):
    assert usage_error(typed, "a", "b") == \
        f"tensorferry: unknown command '{typed}'; did you mean '{meant}'?\n"


def test_unknown_command_lists_the_commands():
    err = usage_error("frobnicate")
    assert err.startswith("tensorferry: unknown command 'frobnicate' (commands: ")
    for command in COMMANDS:
        assert command in err


def test_option_values_list_the_valid_ones(tmp_path):
    formats = "(valid: safetensors, pytorch, tf-bundle, keras-h5)"
    conventions = "(valid: hf-pytorch, hf-tf2, openai-tf1, google-tf1)"
    model = GPT2 / "pytorch_model.bin"
    cases = [
        (["convert", model, tmp_path / "o", "--format", "safetensor"],
         "--format: unknown format 'safetensor'; did you mean 'safetensors'? " + formats),
        (["convert", model, tmp_path / "o.bin", "--input-format", "onnx"],
         "--input-format: unknown format 'onnx' " + formats),
        (["inspect", model, "--format", "keras-h"],
         "--format: unknown format 'keras-h'; did you mean 'keras-h5'? " + formats),
        (["dump", model, tmp_path / "d", "--format", "pytroch"],
         "--format: unknown format 'pytroch'; did you mean 'pytorch'? " + formats),
        (["convert", GPT2, tmp_path / "o", "--to", "openai-tf"],
         "--to: unknown convention 'openai-tf'; did you mean 'openai-tf1'? " + conventions),
        (["verify", GPT2, GPT2, "--from-b", "hf-torch"],
         "--from-b: unknown convention 'hf-torch'; did you mean 'hf-pytorch'? " + conventions),
        (["diff", GPT2, GPT2, "--from-a", "tf2"],
         "--from-a: unknown convention 'tf2' " + conventions),
        (["convert", GPT2, tmp_path / "o", "--to", "hf-pytorch", "--dtype", "fp8"],
         "--dtype: unknown dtype 'fp8' (valid: f32, f16, bf16)"),
        (["convert", GPT2, tmp_path / "o", "--to", "hf-pytorch", "--class", "GPT2LMHead", "--dry-run"],
         "--class: no gpt2 class 'GPT2LMHead' (valid: "),
    ]
    for args, expected in cases:
        err = usage_error(*args)
        assert err.startswith("tensorferry: " + expected), (args, err)
    err = usage_error("convert", GPT2, tmp_path / "o", "--to", "hf-pytorch", "--class", "X", "--dry-run")
    assert "GPT2LMHeadModel" in err and "GPT2Model" in err


def test_a_file_where_a_model_folder_is_expected_is_named(tmp_path):
    config = GPT2 / "config.json"
    proc = run_tf("convert", config, tmp_path / "out", "--to", "openai-tf1", check=False)
    assert proc.returncode == 3
    assert proc.stderr.startswith(f"tensorferry: {config}: a file where a model folder is expected")
    assert f"give the folder {GPT2} itself" in proc.stderr
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    write_f32_safetensors(lone, {"w": [1.0, 2.0]})
    proc = run_tf("convert", lone, tmp_path / "out", "--to", "hf-tf2", check=False)
    assert proc.returncode == 3
    assert proc.stderr.startswith(f"tensorferry: {lone}: a file where a model folder is expected")
    assert "config.json" in proc.stderr and "without --to" in proc.stderr
    assert not (tmp_path / "out").exists()
    # verify, given a checkpoint whose folder has no config, names that checkpoint.
    alone = tmp_path / "alone" / "pytorch_model.bin"
    alone.parent.mkdir()
    shutil.copy(GPT2 / "pytorch_model.bin", alone)
    proc = run_tf("verify", GPT2, alone, check=False)
    assert proc.returncode == 3
    assert proc.stderr.startswith(f"tensorferry: {alone}: no config.json in {alone.parent}")


def test_model_output_named_like_a_file_says_it_is_a_folder(tmp_path):
    out = tmp_path / "gpt2.h5"
    note = f"note: {out} is a folder, not a .h5 file: a model conversion writes a folder ({out}/tf_model.h5"
    dry = run_tf("convert", GPT2, out, "--to", "hf-tf2", "--dry-run")
    assert note in dry.stdout and not out.exists()
    real = run_tf("convert", GPT2, out, "--to", "hf-tf2")
    assert note in real.stdout
    assert (out / "tf_model.h5").is_file()
    doc = json.loads(run_tf("convert", GPT2, tmp_path / "x.safetensors", "--to", "hf-pytorch",
                            "--dry-run", "--json").stdout)
    assert any("x.safetensors is a folder" in n for n in doc["notes"])
    # A name without a checkpoint extension is what everybody expects to be a folder: no note.
    plain = run_tf("convert", GPT2, tmp_path / "plain", "--to", "hf-tf2", "--dry-run")
    assert "is a folder" not in plain.stdout


def test_quiet_is_accepted_by_every_command(tmp_path):
    model = GPT2 / "pytorch_model.bin"
    runs = {
        "inspect": ["inspect", model, "-q"],
        "inspect --check": ["inspect", model, "--check", "--quiet"],
        "convert": ["convert", model, tmp_path / "m.safetensors", "-q"],
        "convert --to": ["convert", GPT2, tmp_path / "openai", "--to", "openai-tf1", "-q"],
        "dump": ["dump", model, tmp_path / "dumped", "-q"],
        "verify": ["verify", GPT2, tmp_path / "openai", "-q"],
        "diff": ["diff", model, tmp_path / "m.safetensors", "-q"],
    }
    for what, args in runs.items():
        proc = run_tf(*args)
        assert proc.stdout == "" and proc.stderr == "", what
    # -q hides the report, not the verdict: a diff that finds a difference still exits 1.
    write_f32_safetensors(tmp_path / "a.safetensors", {"w": [1.0, 2.0]})
    write_f32_safetensors(tmp_path / "b.safetensors", {"w": [1.0, 3.0]})
    proc = run_tf("diff", tmp_path / "a.safetensors", tmp_path / "b.safetensors", "-q", check=False)
    assert proc.returncode == 1 and proc.stdout == ""


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_ends_with_examples_and_exit_codes(command):
    args = ["--help"] if command is None else [command, "--help"]
    text = run_tf(*args).stdout
    lines = text.rstrip("\n").split("\n")
    assert lines[-1].startswith("Exit codes: 0 ok"), lines[-1]
    assert lines[-1].endswith("2 usage, 3 bad input (malformed, hostile, truncated), 4 I/O")
    examples = lines.index("Examples:")
    shown = [l for l in lines[examples + 1:-1] if l.strip()]
    assert shown and all(l.startswith("  tensorferry ") for l in shown), shown
    if command is not None:
        assert all(l.startswith(f"  tensorferry {command} ") for l in shown), shown
