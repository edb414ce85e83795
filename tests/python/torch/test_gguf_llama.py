"""Llama-family hf-pytorch -> gguf (issue 14), proven against llama.cpp itself: Llama 3 with
grouped query attention, an untied head and llama3 rotary scaling (rope_freqs.weight), Mistral,
and Qwen2 with its q/k/v biases (tied head). For every output type tensorferry's file holds the
same tensors and metadata (provenance aside) as convert_hf_to_gguf.py's, and llama.cpp computes
the same logits from both; the round trip hf-pytorch -> gguf (f32, bf16) -> hf-pytorch is
bit-exact. The other rotary scalings the converter writes (linear for llama, YaRN for qwen2) are
checked the same way in f32."""
import json
import shutil

import numpy as np
import pytest
import torch
from transformers import (AutoModelForCausalLM, AutoTokenizer, LlamaConfig, MistralConfig,
                          Qwen2Config)

from conftest import ROOT, run_tf
from support.gguf_oracle import (assert_llama_cpp_agrees, assert_same_gguf,
                                 assert_same_safetensors, run_converters)
from support.llama_cpp_oracle import import_gguf

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt")
TOKENS = [5, 17, 42, 99, 200, 3, 7, 311, 0, 64]
COMMON = dict(vocab_size=400, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, max_position_embeddings=64, bos_token_id=0, eos_token_id=0)
LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
MODELS = {
    # name: (config, tokenizer.ggml.pre the family's tokenizer.json stands for)
    # Llama 3's rotary settings; head_dim 64 gives 32 frequencies, 3 of them blended.
    "llama": (lambda: LlamaConfig(**COMMON, num_key_value_heads=2, tie_word_embeddings=False,
                                  head_dim=64, rope_theta=500000.0, rms_norm_eps=1e-5,
                                  rope_scaling=LLAMA3_ROPE), "llama-bpe"),
    "mistral": (lambda: MistralConfig(**COMMON, num_key_value_heads=2, sliding_window=None,
                                      tie_word_embeddings=False), "llama-bpe"),
    "qwen2": (lambda: Qwen2Config(**COMMON, num_key_value_heads=2, tie_word_embeddings=True,
                                  rms_norm_eps=1e-6), "qwen2"),
}
ROPE_VARIANTS = {
    "llama-linear": (lambda: LlamaConfig(**COMMON, num_key_value_heads=2, rope_scaling={
        "rope_type": "linear", "factor": 2.0}), "llama-bpe"),
    "qwen2-yarn": (lambda: Qwen2Config(**COMMON, num_key_value_heads=2, rope_scaling={
        "rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}), "qwen2"),
}


def make_folder(folder, config, shard_size="10GB"):
    """A random model of a trained model's scale (so that every layer matters), saved with the
    test tokenizer (in shards of `shard_size`); returns transformers' logits for TOKENS."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    model.save_pretrained(folder, safe_serialization=True, max_shard_size=shard_size)
    for f in TOKENIZER_FILES:
        shutil.copy(ROOT / "examples" / "gpt2-tiny" / f, folder / f)
    with torch.no_grad():
        return model(torch.tensor([TOKENS])).logits[0].numpy()


@pytest.fixture(scope="module", params=sorted(MODELS))
def model_folder(request, tmp_path_factory):
    name = request.param
    make_config, pre = MODELS[name]
    folder = tmp_path_factory.mktemp(name)
    # Mistral's folder is sharded, as the Hub stores large models.
    logits = make_folder(folder, make_config(), "100KB" if name == "mistral" else "10GB")
    return name, folder, logits, pre


OUTTYPES = ("f32", "f16", "bf16", "q8_0")


@pytest.fixture(scope="module")
def converter_files(model_folder, tmp_path_factory):
    """convert_hf_to_gguf.py's file for every output type."""
    name, folder, _, pre = model_folder
    out = tmp_path_factory.mktemp("converter")
    files = {outtype: out / f"{outtype}.gguf" for outtype in OUTTYPES}
    run_converters([(folder, outtype, file, pre) for outtype, file in files.items()])
    return files


@pytest.mark.parametrize("outtype", OUTTYPES)
def test_llama_family_gguf_matches_llama_cpp_converter(model_folder, converter_files, tmp_path,
                                                    outtype):
    name, folder, hf_logits, pre = model_folder
    ours, theirs = tmp_path / "ours.gguf", converter_files[outtype]
    run_tf("convert", folder, ours, "--to", "gguf", "--dtype", outtype)
    meta, tensors = assert_same_gguf(ours, theirs)
    assert meta["general.architecture"][1] == ("qwen2" if name == "qwen2" else "llama")
    assert ("output.weight" in tensors) == (name != "qwen2")
    assert ("blk.0.attn_q.bias" in tensors) == (name == "qwen2")
    assert ("rope_freqs.weight" in tensors) == (name == "llama")  # Llama 3's rotary scaling
    assert (folder / "model.safetensors.index.json").exists() == (name == "mistral")

    assert_llama_cpp_agrees(ours, theirs, TOKENS, hf_logits, name, outtype)

    # The converter's own file reads back into transformers: bit-exact in f32, dequantized q8_0
    # as close as llama.cpp itself gets.
    if outtype in ("f32", "q8_0"):
        back = tmp_path / "back"
        run_tf("convert", theirs, back, "--to", "hf-pytorch")
        if outtype == "f32":
            assert_same_safetensors(folder, back / "model.safetensors")
        model = AutoModelForCausalLM.from_pretrained(back).eval()
        with torch.no_grad():
            logits = model(torch.tensor([TOKENS])).logits[0].numpy()
        assert float(np.abs(logits - hf_logits).max()) < (1e-5 if outtype == "f32" else 2e-1)


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_llama_family_round_trip_through_gguf_is_bit_exact(model_folder, tmp_path, dtype):
    name, folder, _, _ = model_folder
    source = folder
    if dtype == "bf16":
        source = tmp_path / "bf16"
        run_tf("convert", folder, source, "--to", "hf-pytorch", "--dtype", "bf16", "--no-verify")
        for f in TOKENIZER_FILES:
            shutil.copy(folder / f, source / f)
    run_tf("convert", source, tmp_path / "m.gguf", "--to", "gguf", "--dtype", dtype)
    # An existing output is replaced only with --force (it was refused even with it).
    refused = run_tf("convert", source, tmp_path / "m.gguf", "--to", "gguf", check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr
    run_tf("convert", source, tmp_path / "m.gguf", "--to", "gguf", "--dtype", dtype, "--force")
    run_tf("convert", tmp_path / "m.gguf", tmp_path / "back", "--to", "hf-pytorch")
    config = json.loads((tmp_path / "back" / "config.json").read_text())
    assert config["num_key_value_heads"] == 2
    assert config.get("rope_scaling") == (LLAMA3_ROPE if name == "llama" else None)
    # Mistral comes back as Llama (GGUF says "llama" for both): the same math.
    assert_round_trip(source, tmp_path / "back")
    text = "Hello world, this is a test <|endoftext|> again"
    assert (AutoTokenizer.from_pretrained(tmp_path / "back").encode(text)
            == AutoTokenizer.from_pretrained(folder).encode(text))


def test_llama3_divisors_that_no_rope_scaling_makes_are_refused(tmp_path):
    """gguf -> hf-pytorch rebuilds rope_scaling from rope_freqs.weight; values no llama3
    setting produces are bad input (exit 3) naming the tensor, and nothing is written."""
    ours = tmp_path / "m.gguf"
    run_tf("convert", ROOT / "examples" / "llama-tiny", ours, "--to", "gguf")
    gguf = import_gguf()
    rope = next(t for t in gguf.GGUFReader(ours).tensors if t.name == "rope_freqs.weight")
    data = bytearray(ours.read_bytes())
    data[rope.data_offset:rope.data_offset + 4] = np.float32(3.0).tobytes()  # a high frequency
    ours.write_bytes(bytes(data))
    proc = run_tf("convert", ours, tmp_path / "back", "--to", "hf-pytorch", check=False)
    assert proc.returncode == 3, proc.stderr
    assert "rope_freqs.weight" in proc.stderr and "llama3" in proc.stderr
    assert not (tmp_path / "back").exists()


def assert_round_trip(source, back):
    """Same tensors, bytes and logits (within fp32 noise) after hf-pytorch -> gguf -> hf."""
    assert_same_safetensors(source, back / "model.safetensors")
    model = AutoModelForCausalLM.from_pretrained(back).eval()
    reference = AutoModelForCausalLM.from_pretrained(source).eval()
    with torch.no_grad():
        diff = (model(torch.tensor([TOKENS])).logits
                - reference(torch.tensor([TOKENS])).logits).abs().max().item()
    assert diff <= 1e-5


@pytest.fixture(scope="module")
def rope_variants(tmp_path_factory):
    """Every ROPE_VARIANTS folder with transformers' logits and the converter's f32 file."""
    out = {}
    for name, (make_config, pre) in ROPE_VARIANTS.items():
        folder = tmp_path_factory.mktemp(name)
        out[name] = (folder, make_folder(folder, make_config()), folder.parent / f"{name}.gguf", pre)
    run_converters([(folder, "f32", theirs, pre) for folder, _, theirs, pre in out.values()])
    return out


@pytest.mark.parametrize("name", sorted(ROPE_VARIANTS))
def test_rope_scaling_keys_match_llama_cpp_and_come_back(rope_variants, tmp_path, name):
    folder, hf_logits, theirs, _ = rope_variants[name]
    ours = tmp_path / "ours.gguf"
    run_tf("convert", folder, ours, "--to", "gguf", "--dtype", "f32")
    meta, _ = assert_same_gguf(ours, theirs)
    arch = meta["general.architecture"][1]
    assert meta[f"{arch}.rope.scaling.type"][1] == name.split("-")[1]
    assert_llama_cpp_agrees(ours, theirs, TOKENS, hf_logits, name, "f32")

    run_tf("convert", ours, tmp_path / "back", "--to", "hf-pytorch")
    config = json.loads((tmp_path / "back" / "config.json").read_text())
    original = json.loads((folder / "config.json").read_text())["rope_scaling"]
    assert {k: v for k, v in config["rope_scaling"].items() if k != "type"} == {
        k: v for k, v in original.items() if k != "type"}
    assert_round_trip(folder, tmp_path / "back")
