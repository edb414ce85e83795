"""`tensorferry verify` runs ALBERT's forward pass (factorized embedding, one set of block weights
per layer group) with transformers' semantics and names the stage where a broken copy first
diverges, with the error figure transformers itself sees (issue 17).

The expected figures come from transformers: it loads A and the broken B, runs both in float64
on the token sequences verify reports, and the per-stage differences must match verify's."""
import os

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_TORCH", "1")

import pytest
from transformers import (AlbertConfig, AlbertForMaskedLM, AlbertForPreTraining,
                          AlbertForSequenceClassification)

from torch_broken import broken_copy, expect_first_failure, saved_random_model, swap_layers
from torch_stages import encoder_stages
from verify_util import stage, verify_exact_copy

# Four layers in two groups: layers 0 and 1 apply group 0, layers 2 and 3 group 1.
CONFIG = dict(vocab_size=99, embedding_size=16, hidden_size=32, num_hidden_layers=4,
              num_hidden_groups=2, num_attention_heads=4, intermediate_size=37,
              max_position_embeddings=64, initializer_range=0.2)
GROUP = "albert.encoder.albert_layer_groups.{}.albert_layers.0."


def make(cls, path, seed, **extra):
    return saved_random_model(cls, AlbertConfig(**CONFIG, **extra), path, seed)


@pytest.fixture(scope="module")
def albert_dir(tmp_path_factory):
    return make(AlbertForPreTraining, tmp_path_factory.mktemp("albert"), 12)


def check(cls, a, b, expected_stage):
    return expect_first_failure(encoder_stages, cls, a, b, expected_stage)  # within 1e-5


def test_every_head_and_shared_layer_agrees_with_transformers(albert_dir, tmp_path):
    """An exact copy passes at every stage; the stages are those of a 4-layer model (the depth,
    not the two stored groups) with ALBERT's heads."""
    for cls, path in ((AlbertForPreTraining, albert_dir),
                      (AlbertForMaskedLM, make(AlbertForMaskedLM, tmp_path / "mlm", 13)),
                      (AlbertForSequenceClassification,
                       make(AlbertForSequenceClassification, tmp_path / "cls", 14, num_labels=3))):
        names = verify_exact_copy(path, tmp_path)
        assert names[:9] == ["embeddings"] + [f"layer {i}{p}" for i in range(4)
                                              for p in (" attention", "")]
        heads = {AlbertForPreTraining: ["pooler", "mlm logits", "sop logits"],
                 AlbertForMaskedLM: ["mlm logits"],
                 AlbertForSequenceClassification: ["pooler", "classifier logits"]}[cls]
        assert names[9:] == heads, names  # heads neither side carries are not listed


def test_swapped_layer_groups(albert_dir, tmp_path):
    swap = swap_layers(GROUP, 0, 1)
    check(AlbertForPreTraining, albert_dir, broken_copy(albert_dir, tmp_path / "b", swap),
          "layer 0 attention")


def test_transposed_kernel_of_the_second_group(albert_dir, tmp_path):
    name = GROUP.format(1) + "attention.query.weight"
    b = broken_copy(albert_dir, tmp_path / "b", lambda s: s.__setitem__(name, s[name].T.clone()))
    check(AlbertForPreTraining, albert_dir, b, "layer 2 attention")


def test_broken_embedding_mapping_and_head(albert_dir, tmp_path):
    name = "albert.encoder.embedding_hidden_mapping_in.weight"
    b = broken_copy(albert_dir, tmp_path / "e",
                    lambda s: s.__setitem__(name, s[name].half().float()))
    check(AlbertForPreTraining, albert_dir, b, "embeddings")
    name = "predictions.dense.weight"  # [E, H]: the head maps back to the embedding width
    b = broken_copy(albert_dir, tmp_path / "h",
                    lambda s: s.__setitem__(name, s[name].half().float()))
    report = check(AlbertForPreTraining, albert_dir, b, "mlm logits")
    assert stage(report, "sop logits")["max_abs_error"] == 0
