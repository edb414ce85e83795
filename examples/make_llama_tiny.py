"""Regenerates examples/llama-tiny: a tiny Llama 3 (grouped-query attention, tied embeddings,
Llama 3's rotary scaling) made with real transformers (random weights, seed 0), stored as the Hub
stores Llama checkpoints (bf16 safetensors), with examples/gpt2-tiny's byte-level BPE
vocabulary. ~90 KB, bundled for the README's `convert --to gguf` example.

    $VENV/bin/python examples/make_llama_tiny.py
"""
import json
import shutil
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

HERE = Path(__file__).resolve().parent
OUT = HERE / "llama-tiny"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt")


def main():
    vocab = json.loads((HERE / "gpt2-tiny" / "config.json").read_text())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab["vocab_size"], hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=131072, rope_theta=500000.0, rms_norm_eps=1e-5,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                       "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                       "original_max_position_embeddings": 8192},
                         tie_word_embeddings=True, bos_token_id=vocab["bos_token_id"],
                         eos_token_id=vocab["eos_token_id"], torch_dtype="bfloat16")
    model = LlamaForCausalLM(config).to(torch.bfloat16).eval()
    if OUT.exists():
        shutil.rmtree(OUT)
    model.save_pretrained(OUT, safe_serialization=True)
    for name in TOKENIZER_FILES:
        shutil.copy(HERE / "gpt2-tiny" / name, OUT / name)
    print(json.dumps(sorted(p.name for p in OUT.iterdir())))


if __name__ == "__main__":
    main()
