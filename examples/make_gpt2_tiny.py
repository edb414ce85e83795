"""Regenerates examples/gpt2-tiny: a tiny GPT-2 made with real transformers (random weights, seed 0)
and a real byte-level BPE vocabulary trained on a paragraph of text. ~250 KB, bundled so that the
README's first command has something to convert on a machine without a model hub.

    $VENV/bin/python examples/make_gpt2_tiny.py
"""
import json
import shutil
import tempfile
from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

OUT = Path(__file__).resolve().parent / "gpt2-tiny"
TEXT = (
    "tensorferry carries trained model weights between the checkpoint formats of the deep "
    "learning ecosystem: PyTorch zip files, safetensors, TensorFlow checkpoints and Keras HDF5 "
    "files. It maps names, shapes and layouts, converts configs and vocabularies, and proves each "
    "conversion with a reference forward pass that names the first layer that diverges. "
) * 20


def main():
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text(TEXT)
        bpe = ByteLevelBPETokenizer()
        bpe.train([str(corpus)], vocab_size=400, min_frequency=1,
                  special_tokens=["<|endoftext|>"])
        bpe.save_model(tmp)
        tokenizer = GPT2TokenizerFast(vocab_file=f"{tmp}/vocab.json",
                                      merges_file=f"{tmp}/merges.txt")
        vocab_size = len(tokenizer)
        torch.manual_seed(0)
        config = GPT2Config(vocab_size=vocab_size, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                            bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
                            eos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
        model = GPT2LMHeadModel(config).eval()
        if OUT.exists():
            shutil.rmtree(OUT)
        model.save_pretrained(OUT, safe_serialization=False)
        tokenizer.save_pretrained(OUT)
    print(json.dumps(sorted(p.name for p in OUT.iterdir())))


if __name__ == "__main__":
    main()
