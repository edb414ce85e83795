"""What a conversion does with the files of a model folder besides the weights (issue 12 items 3
and 4), proven with the real loaders.

* The real all-MiniLM-L6-v2 (a sentence-transformers folder: modules.json, 1_Pooling/,
  sentence_bert_config.json, ...) converted to hf-tf2 and back to hf-pytorch, and to hf-pytorch
  --format pytorch, loads in sentence-transformers with its Normalize module: the embeddings equal
  the source's within 1e-5 and have norm 1. Every file of the source folder is either read,
  carried over, or listed in the report with a reason.
* A GPT-2 in OpenAI's layout whose encoder.json gives <|endoftext|> the id 0 becomes an HF folder
  whose config and generation_config.json (as transformers loads them) use 0 for bos and eos,
  as the tokenizer does.
"""
import json
from pathlib import Path

import pytest

from conftest import ROOT, run_python
from support.convert_harness import convert, minilm_folder, snippet_header

SENTENCES = ["A man is eating food.", "Tensors cross between frameworks.", "", "x" * 300]
TOL = 1e-5

ENCODE = snippet_header("torch") + r"""
import numpy as np
from sentence_transformers import SentenceTransformer
folders, sentences = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {}
reference = None
for name, folder in folders.items():
    model = SentenceTransformer(folder, device="cpu")
    emb = model.encode(sentences, convert_to_numpy=True)
    if reference is None: reference = emb
    out[name] = {"modules": [type(m).__name__ for m in model],
                 "max_abs": float(np.max(np.abs(emb - reference))),
                 "norms": np.linalg.norm(emb, axis=1).tolist()}
print(json.dumps(out))
"""


def accounted_for(report):
    """Top-level names of the source folder the report mentions: read, carried or left."""
    names = {Path(report["source"]["config"]).name, Path(report["source"]["checkpoint"]).name}
    for f in report["files"]:
        if f["how"] == "copied":
            names.add(Path(f["from"]).relative_to(report["source"]["folder"]).parts[0])
    for left in report["not_carried"]:
        names.add(left["name"].split(" ")[0].rstrip("/"))
    return names


def test_sentence_transformers_folder_survives_the_round_trips(tmp_path):
    src = Path(minilm_folder())
    assert (src / "modules.json").is_file(), src
    tf2 = tmp_path / "tf2"
    # sentence-transformers is the judge here (the built-in verify is proven elsewhere).
    reports = {"tf2": convert(src, tf2, "hf-tf2", "--no-verify")}
    reports["back"] = convert(tf2, tmp_path / "back", "hf-pytorch", "--no-verify")
    reports["bin"] = convert(src, tmp_path / "bin", "hf-pytorch", "--format", "pytorch",
                             "--no-verify")
    for name in ("tf2", "bin"):
        assert accounted_for(reports[name]) == {p.name for p in src.iterdir()}, name
    for name in ("tf2", "back", "bin"):
        folder = tmp_path / name
        for f in ("modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
            assert (folder / f).read_bytes() == (src / f).read_bytes(), (name, f)
    assert not (tmp_path / "bin" / "model.safetensors").exists()

    folders = {"source": str(src), "back": str(tmp_path / "back"), "bin": str(tmp_path / "bin")}
    result = run_python(ENCODE, json.dumps(folders), json.dumps(SENTENCES))
    modules = result["source"]["modules"]
    assert modules[-1] == "Normalize", modules
    for name in ("back", "bin"):
        assert result[name]["modules"] == modules, (name, result[name])
        assert result[name]["max_abs"] <= TOL, (name, result[name])
        assert all(abs(n - 1) < 1e-5 for n in result[name]["norms"]), result[name]


GPT2_TOKENS = snippet_header("torch") + r"""
from transformers import AutoTokenizer, GenerationConfig, GPT2LMHeadModel
folder = sys.argv[1]
model = GPT2LMHeadModel.from_pretrained(folder)
generation = GenerationConfig.from_pretrained(folder)
tokenizer = AutoTokenizer.from_pretrained(folder)
print(json.dumps({"config": [model.config.bos_token_id, model.config.eos_token_id],
                  "generation": [generation.bos_token_id, generation.eos_token_id],
                  "model_generation": [model.generation_config.bos_token_id,
                                       model.generation_config.eos_token_id],
                  "tokenizer": [tokenizer.bos_token_id, tokenizer.eos_token_id],
                  "vocab": len(tokenizer)}))
"""


def test_gpt2_special_tokens_come_from_the_vocabulary(tmp_path):
    example = ROOT / "examples" / "gpt2-tiny"
    assert json.loads((example / "vocab.json").read_text())["<|endoftext|>"] == 0
    openai = tmp_path / "openai"
    convert(example, openai, "openai-tf1")
    for target in ("hf-pytorch", "hf-tf2"):
        report = convert(openai, tmp_path / target, target)
        assert {"target": "generation_config.json", "from": "hparams.json, encoder.json",
                "how": "generated"} in report["files"]
    got = run_python(GPT2_TOKENS, tmp_path / "hf-pytorch")
    assert got["vocab"] == 400
    for key in ("config", "generation", "model_generation", "tokenizer"):
        assert got[key] == [0, 0], (key, got)
    assert json.loads((tmp_path / "hf-tf2" / "generation_config.json").read_text()) == {
        "_from_model_config": True, "bos_token_id": 0, "eos_token_id": 0}
