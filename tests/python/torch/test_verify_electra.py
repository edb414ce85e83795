"""`tensorferry verify` runs ELECTRA's forward pass (embeddings of their own width, projected to the
hidden width; BERT's blocks; the discriminator, generator and classifier heads) with
transformers' semantics and names the stage where a broken copy first diverges, with the error
figure transformers itself sees (issue 17)."""
import os

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_TORCH", "1")

import pytest
from transformers import (ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining,
                          ElectraForSequenceClassification)

from torch_broken import broken_copy, expect_first_failure, saved_random_model, swap_layers
from torch_stages import encoder_stages
from verify_util import copy_model_dir, verify

CONFIG = dict(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=3,
              num_attention_heads=4, intermediate_size=37, max_position_embeddings=64,
              initializer_range=0.2)
LAYER = "electra.encoder.layer.{}."


def make(cls, path, seed, **extra):
    return saved_random_model(cls, ElectraConfig(**{**CONFIG, **extra}), path, seed)


@pytest.fixture(scope="module")
def discriminator(tmp_path_factory):
    return make(ElectraForPreTraining, tmp_path_factory.mktemp("electra"), 21)


def check(cls, a, b, expected_stage):
    return expect_first_failure(encoder_stages, cls, a, b, expected_stage)  # within 1e-5


def test_every_head_agrees_with_transformers(discriminator, tmp_path):
    generator = make(ElectraForMaskedLM, tmp_path / "gen", 22, hidden_size=8,
                     num_attention_heads=1, intermediate_size=32, num_hidden_layers=1)
    classifier = make(ElectraForSequenceClassification, tmp_path / "cls", 23, num_labels=3)
    same_width = make(ElectraForPreTraining, tmp_path / "e_eq_h", 24, embedding_size=32)
    for path, heads in ((discriminator, ["discriminator logits"]), (generator, ["mlm logits"]),
                        (classifier, ["classifier logits"]), (same_width, ["discriminator logits"])):
        rc, report = verify(path, copy_model_dir(path, tmp_path / (path.name + "_copy")),
                            "--always-forward")  # an identical copy would skip the passes
        assert rc == 0 and report["passed"], report["first_failure"]
        assert [s["name"] for s in report["stages"] if not s["name"].startswith(
            ("embeddings", "layer "))] == heads


def test_swapped_layers(discriminator, tmp_path):
    swap = swap_layers(LAYER, 0, 1)
    check(ElectraForPreTraining, discriminator, broken_copy(discriminator, tmp_path / "b", swap),
          "layer 0 attention")


def test_transposed_kernel(discriminator, tmp_path):
    name = LAYER.format(2) + "attention.self.query.weight"
    b = broken_copy(discriminator, tmp_path / "b",
                    lambda s: s.__setitem__(name, s[name].T.clone()))
    check(ElectraForPreTraining, discriminator, b, "layer 2 attention")


def test_broken_projection_and_head(discriminator, tmp_path):
    name = "electra.embeddings_project.weight"
    b = broken_copy(discriminator, tmp_path / "e",
                    lambda s: s.__setitem__(name, s[name].half().float()))
    check(ElectraForPreTraining, discriminator, b, "embeddings")
    name = "discriminator_predictions.dense.weight"
    b = broken_copy(discriminator, tmp_path / "h",
                    lambda s: s.__setitem__(name, s[name].T.clone()))
    check(ElectraForPreTraining, discriminator, b, "discriminator logits")
