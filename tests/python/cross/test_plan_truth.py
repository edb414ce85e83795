"""The plan is the truth (issue 12 item 9, issue 13 item 10): `convert --dry-run` refuses exactly
what the real run refuses, with the same exit code and message, before anything is written and
without naming a temporary path; every config value is validated while planning, for every
target. Each refusal is run as a pair (dry run, real run) and the real run must leave nothing."""
import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_python, run_tf
from support.convert_harness import snippet_header

GPT2 = ROOT / "examples" / "gpt2-tiny"

MAKE_BERT = snippet_header("torch") + r"""
import sys
import torch
from transformers import BertConfig, BertForMaskedLM
torch.manual_seed(0)
config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=32)
BertForMaskedLM(config).save_pretrained(sys.argv[1])
print(json.dumps("ok"))
"""


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bert") / "hf"
    run_python(MAKE_BERT, folder)
    return folder


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def refused_pair(tmp_path, src, out, *flags, code):
    """Runs the dry run, then the real run, of a conversion that must be refused; both must exit
    `code` with the same message, name no temporary, and leave the folder as it was."""
    before = listing(tmp_path)
    dry = run_tf("convert", src, out, *flags, "--dry-run", check=False)
    assert listing(tmp_path) == before, "the dry run wrote something"
    real = run_tf("convert", src, out, *flags, check=False)
    assert listing(tmp_path) == before, "the refused real run left something"
    assert (dry.returncode, real.returncode) == (code, code), (dry.stderr, real.stderr)
    assert dry.stderr == real.stderr
    assert ".tensorferry-tmp-" not in dry.stderr and dry.stdout == real.stdout == ""
    return dry.stderr


def test_bf16_into_hf_tf2_is_refused_with_what_would_work(tmp_path):
    message = refused_pair(tmp_path, GPT2, tmp_path / "tf2", "--to", "hf-tf2", "--dtype", "bf16",
                           code=2)
    assert "tf_model.h5" in message and "keras-h5 has no bf16 type" in message
    assert "--dtype f16" in message and "--to hf-pytorch" in message
    # What the message proposes works.
    run_tf("convert", GPT2, tmp_path / "f16", "--to", "hf-tf2", "--dtype", "f16")


def test_names_a_plain_h5_cannot_hold_are_refused_with_what_would_work(tmp_path):
    message = refused_pair(tmp_path, GPT2 / "pytorch_model.bin", tmp_path / "weights.h5", code=2)
    assert "weights.h5" in message and "transformer.wte.weight" in message
    assert "has no '/'" in message and "--to hf-tf2" in message


def test_bf16_into_a_plain_h5_is_refused_with_what_would_work(tmp_path):
    bf16 = tmp_path / "bf16.safetensors"
    run_tf("convert", GPT2 / "pytorch_model.bin", bf16, "--dtype", "bf16")
    message = refused_pair(tmp_path, bf16, tmp_path / "weights.h5", code=2)
    assert "keras-h5 has no bf16 type" in message and "--dtype f16" in message


@pytest.mark.parametrize("flags", [["--to", "openai-tf1"], []], ids=["model", "container"])
def test_existing_output_is_refused_by_the_dry_run_too(tmp_path, flags):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    if not flags:
        flags = ["--format", "safetensors"]  # a container copy into the folder
        src = GPT2 / "pytorch_model.bin"
    else:
        src = GPT2
    message = refused_pair(tmp_path, src, out, *flags, code=2)
    assert "output exists; pass --force" in message
    assert (out / "keep.txt").read_text() == "mine"


def with_config(tmp_path, src, **changes):
    folder = tmp_path / "src"
    shutil.copytree(src, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


GPT2_TARGETS = [["--to", "hf-pytorch"], ["--to", "hf-pytorch", "--format", "pytorch"],
                ["--to", "hf-tf2"], ["--to", "openai-tf1"]]
BERT_TARGETS = [["--to", "hf-pytorch"], ["--to", "hf-tf2"], ["--to", "google-tf1"]]


@pytest.mark.parametrize("target", GPT2_TARGETS, ids=lambda t: "-".join(t[1::2]))
@pytest.mark.parametrize("change", [{"layer_norm_epsilon": -1},
                                    {"activation_function": "os.system"}],
                         ids=["negative-eps", "activation"])
@pytest.mark.parametrize("verify", [[], ["--no-verify"]], ids=["verify", "no-verify"])
def test_gpt2_config_values_are_validated_for_every_target(tmp_path, target, change, verify):
    folder = with_config(tmp_path, GPT2, **change)
    message = refused_pair(tmp_path, folder, tmp_path / "out", *target, *verify, code=3)
    key = next(iter(change))
    assert "config.json" in message and key in message


@pytest.mark.parametrize("target", BERT_TARGETS, ids=lambda t: "-".join(t[1::2]))
@pytest.mark.parametrize("change", [{"layer_norm_eps": -1}, {"hidden_act": "os.system"}],
                         ids=["negative-eps", "activation"])
def test_bert_config_values_are_validated_for_every_target(tmp_path, bert_folder, target, change):
    folder = with_config(tmp_path, bert_folder, **change)
    message = refused_pair(tmp_path, folder, tmp_path / "out", *target, code=3)
    assert "config.json" in message and next(iter(change)) in message


@pytest.mark.parametrize("target", [["--to", "hf-pytorch"], ["--to", "hf-tf2"]],
                         ids=["hf-pytorch", "hf-tf2"])
def test_what_verify_cannot_run_is_refused_before_writing(tmp_path, target):
    # A valid model the built-in check cannot run: refused while planning (it used to be published
    # and then fail its verify), and converted with --no-verify.
    folder = with_config(tmp_path, GPT2, scale_attn_by_inverse_layer_idx=True)
    message = refused_pair(tmp_path, folder, tmp_path / "out", *target, code=3)
    assert "scale_attn_by_inverse_layer_idx" in message and "--no-verify" in message
    run_tf("convert", folder, tmp_path / "out", *target, "--no-verify")
    assert (tmp_path / "out" / "config.json").exists()
