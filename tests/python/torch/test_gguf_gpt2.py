"""GPT-2 hf-pytorch -> gguf (issue 14), proven against llama.cpp itself: for every output type,
tensorferry's file holds the same tensors (names, types, shapes, bytes) and the same metadata
(provenance keys aside) as convert_hf_to_gguf.py's, and llama.cpp's runtime computes from it
the same logits as from the converter's file, as close to transformers' as those are."""
import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from conftest import ROOT, run_tf
from support.gguf_oracle import (assert_llama_cpp_agrees, assert_same_gguf,
                                 assert_same_safetensors, run_converters)

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt")
TOKENS = [5, 17, 42, 99, 200, 3, 7, 311, 0, 64]


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpt2")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=400, n_positions=64, n_embd=64, n_layer=2, n_head=4,
                        bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # weights of a trained model's scale, so that every layer matters
        for p in model.parameters():
            p.normal_(0, 0.2)
    model.save_pretrained(folder, safe_serialization=True)
    # The converter's GPT2Model reads hparams["n_ctx"], which configs of transformers 4.57 no
    # longer carry (KeyError); older transformers wrote it, with the value of n_positions.
    cfg = json.loads((folder / "config.json").read_text())
    cfg["n_ctx"] = cfg["n_positions"]
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))
    for name in TOKENIZER_FILES:
        shutil.copy(ROOT / "examples" / "gpt2-tiny" / name, folder / name)
    with torch.no_grad():
        logits = model(torch.tensor([TOKENS])).logits[0].numpy()
    return folder, logits


OUTTYPES = ("f32", "f16", "bf16", "q8_0")


@pytest.fixture(scope="module")
def converter_files(gpt2_folder, tmp_path_factory):
    """convert_hf_to_gguf.py's file for every output type."""
    folder, _ = gpt2_folder
    out = tmp_path_factory.mktemp("converter")
    files = {outtype: out / f"{outtype}.gguf" for outtype in OUTTYPES}
    run_converters([(folder, outtype, file, "gpt-2") for outtype, file in files.items()])
    return files


@pytest.mark.parametrize("outtype", OUTTYPES)
def test_gpt2_gguf_matches_llama_cpp_converter(gpt2_folder, converter_files, tmp_path, outtype):
    folder, hf_logits = gpt2_folder
    ours, theirs = tmp_path / "ours.gguf", converter_files[outtype]
    run_tf("convert", folder, ours, "--to", "gguf", "--dtype", outtype)
    meta, tensors = assert_same_gguf(ours, theirs)
    assert meta["general.architecture"][1] == "gpt2"
    assert "token_embd.weight" in tensors and "output.weight" not in tensors  # tied head

    assert_llama_cpp_agrees(ours, theirs, TOKENS, hf_logits, "gpt2", outtype)


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_gpt2_round_trip_through_gguf_is_bit_exact(gpt2_folder, tmp_path, dtype):
    from transformers import AutoTokenizer
    folder, _ = gpt2_folder
    source = folder
    if dtype == "bf16":  # a bf16 model, as the Hub stores most
        source = tmp_path / "bf16"
        run_tf("convert", folder, source, "--to", "hf-pytorch", "--dtype", "bf16", "--no-verify")
        for name in TOKENIZER_FILES:
            shutil.copy(folder / name, source / name)
    run_tf("convert", source, tmp_path / "m.gguf", "--to", "gguf", "--dtype", dtype)
    run_tf("convert", tmp_path / "m.gguf", tmp_path / "back", "--to", "hf-pytorch")
    assert_same_safetensors(source / "model.safetensors", tmp_path / "back" / "model.safetensors")
    model = GPT2LMHeadModel.from_pretrained(tmp_path / "back").eval()
    reference = GPT2LMHeadModel.from_pretrained(source).eval()
    with torch.no_grad():
        assert torch.equal(model(torch.tensor([TOKENS])).logits,
                           reference(torch.tensor([TOKENS])).logits)
    text = "Hello world, this is a test <|endoftext|> again"
    assert (AutoTokenizer.from_pretrained(tmp_path / "back").encode(text)
            == AutoTokenizer.from_pretrained(folder).encode(text))
