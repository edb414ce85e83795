"""Google's ELECTRA pre-training checkpoint as a TensorFlow 1 graph, written for the tests after
reading google-research/electra model/modeling.py (BertModel with scope, embedding_size,
embeddings_project), run_pretraining.py (PretrainingModel: _build_transformer,
_get_masked_lm_output, _get_discriminator_output, get_generator_config) and
configure_pretraining.py / util/training_utils.py (the --hparams keys). Reimplemented for
tf.compat.v1 on the pieces of google_bert_tf1, not copied.

One checkpoint holds both networks (E embedding_size, H the discriminator's hidden size, G the
generator's):

    electra/embeddings/{word_embeddings [V,E], token_type_embeddings [T,E],
                        position_embeddings [P,E], LayerNorm}      (shared by both networks)
    electra/embeddings_project/{kernel [E,H], bias}                 (only when E != H)
    electra/encoder/layer_{i}/...                                    (BERT's block names)
    discriminator_predictions/dense/{kernel [H,H], bias}, discriminator_predictions/dense_1/
        {kernel [H,1], bias [1]}
    generator/embeddings_project/{kernel [E,G], bias}                (only when E != G)
    generator/encoder/layer_{i}/...
    generator_predictions/{dense/{kernel [G,E], bias [E]}, LayerNorm, output_bias [V]}

The generator's config is get_generator_config's: hidden G = round(H * generator_hidden_size),
round(L * generator_layers) layers, max(1, G // 64) heads, intermediate 4G. ELECTRA's gelu is the
erf form (transformers' "gelu"). The folder's config is electra_hparams.json, the JSON run_pretraining.py
takes as --hparams.

Only imported from TensorFlow subprocesses."""
import json
import os

from support import google_bert_tf1 as bert
from support.google_bert_tf1 import tf, v1

CHECKPOINT = "model.ckpt"
CONFIG = "electra_hparams.json"


def hparams(config, generator_hidden_size, generator_layers):
    """run_pretraining's --hparams for a model of `config` (BERT-style keys plus embedding_size)."""
    overrides = {k: config[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                        "intermediate_size", "max_position_embeddings",
                                        "type_vocab_size")}
    return {"model_size": "small", "vocab_size": config["vocab_size"],
            "embedding_size": config["embedding_size"], "model_hparam_overrides": overrides,
            "generator_hidden_size": generator_hidden_size, "generator_layers": generator_layers}


def configs_of(hp):
    """(discriminator config, generator config) as run_pretraining derives them from hparams."""
    disc = dict(hp["model_hparam_overrides"], vocab_size=hp["vocab_size"],
                embedding_size=hp["embedding_size"], hidden_act="gelu", initializer_range=0.02)
    gen = dict(disc)
    gen["hidden_size"] = int(round(disc["hidden_size"] * hp.get("generator_hidden_size", 0.25)))
    gen["num_hidden_layers"] = int(round(disc["num_hidden_layers"] * hp.get("generator_layers", 1)))
    gen["intermediate_size"] = 4 * gen["hidden_size"]
    gen["num_attention_heads"] = max(1, gen["hidden_size"] // 64)
    return disc, gen


def _transformer(config, scope, x, adder, act):
    """embeddings_project (when the widths differ) and the encoder, under `scope`."""
    with v1.variable_scope(scope):
        if x.shape[-1] != config["hidden_size"]:
            x = bert._dense(x, config["hidden_size"], config, "embeddings_project")
        with v1.variable_scope("encoder"):
            for layer in range(config["num_hidden_layers"]):
                with v1.variable_scope(f"layer_{layer}"):
                    x = bert.encoder_block(x, adder, config, act)
    return x


def build(hp, input_ids, input_mask, token_type_ids, heads=("discriminator", "generator"),
          num_labels=None, activation="erf"):
    """Outputs of the discriminator ("last_hidden_state", "discriminator_logits") and, with
    "generator" in `heads`, of the generator ("generator_last_hidden_state",
    "generator_logits")."""
    disc, gen = configs_of(hp)
    act = bert._act("gelu", activation)
    out = {}
    with v1.variable_scope("electra/embeddings"):
        x, word = bert.embeddings(disc, input_ids, token_type_ids, disc["embedding_size"])
    adder = bert.attention_adder(input_mask)
    h = _transformer(disc, "electra", x, adder, act)
    out["last_hidden_state"] = h
    if "discriminator" in heads:
        with v1.variable_scope("discriminator_predictions"):
            hidden = bert._dense(h, disc["hidden_size"], disc, "dense", activation=act)
            out["discriminator_logits"] = tf.squeeze(bert._dense(hidden, 1, disc, "dense_1"), -1)
    if "generator" in heads:
        g = _transformer(gen, "generator", x, adder, act)
        out["generator_last_hidden_state"] = g
        with v1.variable_scope("generator_predictions"):
            out["generator_logits"] = bert.mlm_logits(g, word, gen, act, transform=None)
    return out


def run(folder_or_hparams, inputs, heads=("discriminator", "generator"), **kwargs):
    """google_bert_tf1.run with ELECTRA's graph; the config is electra_hparams.json."""
    if isinstance(folder_or_hparams, str):
        with open(os.path.join(folder_or_hparams, CONFIG)) as f:
            folder_or_hparams = json.load(f)
    return bert.run(folder_or_hparams, inputs, heads, graph=build, checkpoint_name=CHECKPOINT,
                    config_name=CONFIG, **kwargs)
