"""`tensorferry verify` runs DistilBERT's forward pass (word + position embeddings without token
types, BERT's post-LayerNorm blocks under DistilBERT's names, its masked-LM, classification and QA
heads) with transformers' semantics and names the stage where a broken copy first diverges, with
the error figure transformers itself sees (issue 17).

The expected figures come from transformers: it loads A and the broken B, runs both in float64
on the token sequences verify reports, and the per-stage differences must match verify's."""
import os

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_TORCH", "1")

import pytest
import torch
from transformers import (DistilBertConfig, DistilBertForMaskedLM,
                          DistilBertForQuestionAnswering, DistilBertForSequenceClassification,
                          DistilBertModel)

from torch_broken import broken_copy
from torch_stages import distilbert_stages, stage_errors
from verify_util import copy_model_dir, report_sequences, stage, verify

MAX_ERROR = 1e-5
CONFIG = dict(vocab_size=99, dim=32, n_layers=3, n_heads=4, hidden_dim=37,
              max_position_embeddings=64, initializer_range=0.2)
LAYER = "distilbert.transformer.layer.{}."


def make(cls, path, seed, **extra):
    torch.manual_seed(seed)
    model = cls(DistilBertConfig(**{**CONFIG, **extra}))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.normal_(1.0 if "norm.weight" in n.lower() else 0.0, 0.1)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def mlm(tmp_path_factory):
    return make(DistilBertForMaskedLM, tmp_path_factory.mktemp("distilbert"), 41)


def check(cls, a, b, expected_stage):
    rc, report = verify(a, b)
    expected = stage_errors(distilbert_stages, cls.from_pretrained(a), cls.from_pretrained(b),
                            report_sequences(report))
    first_oracle = next(s["name"] for s in report["stages"] if expected[s["name"]] > MAX_ERROR)
    assert first_oracle == expected_stage, expected
    assert rc == 1 and report["passed"] is False
    assert report["first_failure"]["stage"] == expected_stage
    for s in report["stages"]:
        want, got = expected[s["name"]], s["max_abs_error"]
        assert abs(got - want) <= 1e-9 + 1e-7 * want, (s["name"], got, want)
        if s["name"] == expected_stage:
            break
        assert got <= 1e-12, s
    return report


def test_every_head_agrees_with_transformers(mlm, tmp_path):
    """An exact copy passes at every stage, and the stages are DistilBERT's: three layers and the
    head the class carries, no pooler."""
    sources = ((mlm, ["mlm logits"]),
               (make(DistilBertForSequenceClassification, tmp_path / "cls", 42, num_labels=3),
                ["classifier logits"]),
               (make(DistilBertForQuestionAnswering, tmp_path / "qa", 43),
                ["qa start logits", "qa end logits"]),
               (make(DistilBertModel, tmp_path / "base", 44, activation="relu"), []))
    for path, heads in sources:
        copy = copy_model_dir(path, tmp_path / (path.name + "_copy"))
        rc, report = verify(path, copy)  # the same bits: decided without a forward pass
        assert rc == 0 and report["proof"] == "identical-weights", report["first_failure"]
        rc, report = verify(path, copy, "--always-forward")
        assert rc == 0 and report["passed"], report["first_failure"]
        names = [s["name"] for s in report["stages"]]
        assert names == ["embeddings"] + [f"layer {i}{p}" for i in range(3)
                                          for p in (" attention", "")] + heads, names


def test_swapped_layers(mlm, tmp_path):
    def swap(s):
        for name in [n for n in s if n.startswith(LAYER.format(0))]:
            other = LAYER.format(1) + name[len(LAYER.format(0)):]
            s[name], s[other] = s[other], s[name]
    check(DistilBertForMaskedLM, mlm, broken_copy(mlm, tmp_path / "b", swap), "layer 0 attention")


def test_transposed_q_lin(mlm, tmp_path):
    name = LAYER.format(2) + "attention.q_lin.weight"
    b = broken_copy(mlm, tmp_path / "b", lambda s: s.__setitem__(name, s[name].T.clone()))
    check(DistilBertForMaskedLM, mlm, b, "layer 2 attention")


def test_broken_ffn_positions_and_head(mlm, tmp_path):
    name = LAYER.format(1) + "ffn.lin2.weight"  # [dim, hidden_dim]: the MLM half of layer 1
    b = broken_copy(mlm, tmp_path / "f", lambda s: s.__setitem__(name, s[name].half().float()))
    report = check(DistilBertForMaskedLM, mlm, b, "layer 1")
    assert stage(report, "layer 1 attention")["max_abs_error"] == 0
    name = "distilbert.embeddings.position_embeddings.weight"  # positions counted from 1
    b = broken_copy(mlm, tmp_path / "p", lambda s: s.__setitem__(name, s[name].roll(-1, 0)))
    check(DistilBertForMaskedLM, mlm, b, "embeddings")
    name = "vocab_transform.weight"
    b = broken_copy(mlm, tmp_path / "h", lambda s: s.__setitem__(name, s[name].T.clone()))
    check(DistilBertForMaskedLM, mlm, b, "mlm logits")
