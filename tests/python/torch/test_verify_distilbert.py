"""`tensorferry verify` runs DistilBERT's forward pass (word + position embeddings without token
types, BERT's post-LayerNorm blocks under DistilBERT's names, its masked-LM, classification and QA
heads) with transformers' semantics and names the stage where a broken copy first diverges, with
the error figure transformers itself sees (issue 17; torch_broken.expect_first_failure)."""
import os

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_TORCH", "1")

import pytest
from transformers import (DistilBertConfig, DistilBertForMaskedLM,
                          DistilBertForQuestionAnswering, DistilBertForSequenceClassification,
                          DistilBertModel)

from torch_broken import broken_copy, expect_first_failure, saved_random_model, swap_layers
from torch_stages import encoder_stages
from verify_util import stage, verify_exact_copy

CONFIG = dict(vocab_size=99, dim=32, n_layers=3, n_heads=4, hidden_dim=37,
              max_position_embeddings=64, initializer_range=0.2)
LAYER = "distilbert.transformer.layer.{}."


def make(cls, path, seed, **extra):
    return saved_random_model(cls, DistilBertConfig(**{**CONFIG, **extra}), path, seed)


@pytest.fixture(scope="module")
def mlm(tmp_path_factory):
    return make(DistilBertForMaskedLM, tmp_path_factory.mktemp("distilbert"), 41)


def test_every_head_agrees_with_transformers(mlm, tmp_path):
    """An exact copy passes at every stage, and the stages are DistilBERT's: three layers and the
    head the class carries, no pooler."""
    sources = ((mlm, ["mlm logits"]),
               (make(DistilBertForSequenceClassification, tmp_path / "cls", 42, num_labels=3),
                ["classifier logits"]),
               (make(DistilBertForQuestionAnswering, tmp_path / "qa", 43),
                ["qa start logits", "qa end logits"]),
               (make(DistilBertModel, tmp_path / "base", 44, activation="relu"), []))
    layers = [f"layer {i}{p}" for i in range(3) for p in (" attention", "")]
    for path, heads in sources:
        assert verify_exact_copy(path, tmp_path) == ["embeddings"] + layers + heads, path


def test_swapped_layers(mlm, tmp_path):
    swap = swap_layers(LAYER, 0, 1)
    expect_first_failure(encoder_stages, DistilBertForMaskedLM, mlm,
                         broken_copy(mlm, tmp_path / "b", swap), "layer 0 attention")


def test_transposed_q_lin(mlm, tmp_path):
    name = LAYER.format(2) + "attention.q_lin.weight"
    b = broken_copy(mlm, tmp_path / "b", lambda s: s.__setitem__(name, s[name].T.clone()))
    expect_first_failure(encoder_stages, DistilBertForMaskedLM, mlm, b, "layer 2 attention")


@pytest.mark.parametrize("name,edit,where", [
    # [dim, hidden_dim]: the FFN half of layer 1 breaks, its attention half does not.
    (LAYER.format(1) + "ffn.lin2.weight", lambda t: t.half().float(), "layer 1"),
    # positions counted from 1
    ("distilbert.embeddings.position_embeddings.weight", lambda t: t.roll(-1, 0), "embeddings"),
    ("vocab_transform.weight", lambda t: t.T.clone(), "mlm logits"),
])
def test_broken_ffn_positions_and_head(mlm, tmp_path, name, edit, where):
    b = broken_copy(mlm, tmp_path / "b", lambda s: s.__setitem__(name, edit(s[name])))
    report = expect_first_failure(encoder_stages, DistilBertForMaskedLM, mlm, b, where)
    if where == "layer 1":
        assert stage(report, "layer 1 attention")["max_abs_error"] == 0
