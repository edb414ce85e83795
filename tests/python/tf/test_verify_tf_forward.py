"""tensorferry's reference forward pass on HF TF2 checkpoints (tf_model.h5 and TF-named
model.safetensors, Keras Dense kernels [in, out], TFConv1D biases [1, n]) against the real
transformers TF models: every hidden state and head within 1e-5 (issue 5)."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest
import tensorflow as tf
from transformers import (BertConfig, GPT2Config, TFBertForMaskedLM, TFBertForPreTraining,
                          TFBertForQuestionAnswering, TFBertForSequenceClassification,
                          TFGPT2LMHeadModel)

from verify_util import compare_stages, forward

GPT2_SEQS = [[5, 999, 0, 17, 300, 42, 7], [1], list(range(100, 140))]
BERT_SEQS = [([2, 5, 98, 7, 3, 0, 44], [0, 0, 0, 1, 1, 1, 1]), ([1], [0]),
             (list(range(10, 50)), [0] * 15 + [1] * 25)]


def gpt2_reference(model, sequences):
    out = {}
    for tokens in sequences:
        o = model(tf.constant([tokens]), output_hidden_states=True)
        hs = [h[0].numpy() for h in o.hidden_states]
        stages = {"embeddings": hs[0], "final layer norm": hs[-1], "logits": o.logits[0].numpy()}
        for i in range(1, len(hs) - 1):
            stages[f"layer {i - 1}"] = hs[i]
        for k, v in stages.items():
            out.setdefault(k, []).append(v)
    return out


def bert_reference(model, sequences):
    out = {}
    for tokens, types in sequences:
        ids, tt = tf.constant([tokens]), tf.constant([types])
        o = model(ids, token_type_ids=tt, output_hidden_states=True)
        hs = [h[0].numpy() for h in o.hidden_states]
        stages = {"embeddings": hs[0]}
        for i in range(1, len(hs)):
            stages[f"layer {i - 1}"] = hs[i]
        if model.bert.pooler is not None:
            stages["pooler"] = model.bert(ids, token_type_ids=tt).pooler_output.numpy()
        if isinstance(model, TFBertForPreTraining):
            stages["mlm logits"] = o.prediction_logits[0].numpy()
            stages["nsp logits"] = o.seq_relationship_logits.numpy()
        if isinstance(model, TFBertForMaskedLM):
            stages["mlm logits"] = o.logits[0].numpy()
        if isinstance(model, TFBertForSequenceClassification):
            stages["classifier logits"] = o.logits.numpy()
        if isinstance(model, TFBertForQuestionAnswering):
            stages["qa start logits"] = o.start_logits.numpy().reshape(-1, 1)
            stages["qa end logits"] = o.end_logits.numpy().reshape(-1, 1)
        for k, v in stages.items():
            out.setdefault(k, []).append(v)
    return out


def build(cls, config, seed):
    tf.keras.utils.set_random_seed(seed)
    model = cls(config)
    model(model.dummy_inputs)
    return model


@pytest.mark.parametrize("safe", [False, True], ids=["tf_model_h5", "tf_safetensors"])
def test_gpt2(tmp_path, safe):
    model = build(TFGPT2LMHeadModel,
                  GPT2Config(vocab_size=1000, n_positions=64, n_embd=32, n_layer=3, n_head=4,
                             initializer_range=0.2), 0)
    model.save_pretrained(tmp_path, safe_serialization=safe)
    ours, doc = forward(tmp_path, GPT2_SEQS)
    assert doc["model"]["convention"] == "hf-tf2"
    assert doc["model"]["unused_weights"] == []
    errors = compare_stages(ours, gpt2_reference(model, GPT2_SEQS), 1e-5)
    # transformers exposes the outputs of all blocks but the last, which it shows after ln_f.
    assert set(errors) == {"embeddings", "layer 0", "layer 1", "final layer norm", "logits"}


BERT_CASES = {
    "pretraining": (TFBertForPreTraining, {}),
    "classification": (TFBertForSequenceClassification, dict(num_labels=3)),
    "question_answering": (TFBertForQuestionAnswering, {}),
    "masked_lm": (TFBertForMaskedLM, dict(hidden_act="gelu_new", layer_norm_eps=1e-3)),
}


@pytest.mark.parametrize("safe", [False, True], ids=["tf_model_h5", "tf_safetensors"])
@pytest.mark.parametrize("case", sorted(BERT_CASES))
def test_bert_every_head(tmp_path, case, safe):
    cls, kw = BERT_CASES[case]
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=37,
                        max_position_embeddings=64, initializer_range=0.2, **kw)
    model = build(cls, config, 1)
    model.save_pretrained(tmp_path, safe_serialization=safe)
    ours, doc = forward(tmp_path, BERT_SEQS)
    assert doc["model"]["convention"] == "hf-tf2"
    assert doc["model"]["unused_weights"] == []
    theirs = bert_reference(model, BERT_SEQS)
    # Every head tensorferry found is one transformers has, and the other way round.
    heads = {"pooler", "mlm logits", "nsp logits", "classifier logits", "qa start logits",
             "qa end logits"}
    assert set(ours) & heads == set(theirs) & heads
    compare_stages(ours, theirs, 1e-5)
