"""Google's BERT as a TensorFlow 1 graph, written for the tests after reading google-research/bert
modeling.py (BertModel), run_pretraining.py (cls/predictions, cls/seq_relationship),
run_classifier.py (top-level output_weights / output_bias) and run_squad.py (cls/squad/*).
Reimplemented for tf.compat.v1 (no tf.contrib, no tf.layers), not copied.

Variable names, shapes and meaning are Google's:

    bert/embeddings/{word_embeddings [V,H], token_type_embeddings [T,H],
                     position_embeddings [P,H], LayerNorm/{beta,gamma}}
    bert/encoder/layer_{i}/attention/self/{query,key,value}/{kernel [H,H], bias}
    bert/encoder/layer_{i}/attention/output/{dense/{kernel,bias}, LayerNorm/{beta,gamma}}
    bert/encoder/layer_{i}/intermediate/dense/{kernel [H,I], bias}
    bert/encoder/layer_{i}/output/{dense/{kernel [I,H], bias}, LayerNorm/{beta,gamma}}
    bert/pooler/dense/{kernel, bias}
    cls/predictions/{transform/dense/{kernel,bias}, transform/LayerNorm/{beta,gamma}, output_bias}
    cls/seq_relationship/{output_weights [2,H], output_bias [2]}
    output_weights [C,H], output_bias [C]                (run_classifier)
    cls/squad/{output_weights [2,H], output_bias [2]}    (run_squad)

Arithmetic as in modeling.py: post-LayerNorm blocks with epsilon 1e-12 (tf.contrib's
layer_norm), attention mask adder -10000, pooler = tanh(dense(first token)).

One deliberate difference: Google's `gelu` is the tanh approximation, transformers' BERT "gelu" is
the exact erf form (they differ by up to 4.7e-4 per activation). To compare converted weights at
1e-5 against transformers, `activation="erf"` (the default here) uses the erf form;
`activation="tanh"` gives Google's current arithmetic.

The MLM head is evaluated at every position (run_pretraining gathers the masked positions
first; the per-position arithmetic is the same).

Only imported from TensorFlow subprocesses.
"""
import json
import math
import os

import numpy as np
import tensorflow as tf

from support.tf1_session import restore, session_config

v1 = tf.compat.v1


def load_config(folder, name="bert_config.json"):
    with open(os.path.join(folder, name)) as f:
        return json.load(f)


def _act(name, activation):
    if name == "gelu":
        if activation == "erf":
            return lambda x: 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))
        return lambda x: 0.5 * x * (1.0 + tf.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return {"relu": tf.nn.relu, "tanh": tf.tanh, "linear": lambda x: x}[name]


def _init(config):
    return v1.truncated_normal_initializer(stddev=config.get("initializer_range", 0.02))


def _dense(x, width_out, config, name="dense", activation=None):
    """tf.layers.dense: kernel [in, out], bias [out], y = x . kernel + bias."""
    with v1.variable_scope(name):
        kernel = v1.get_variable("kernel", [x.shape[-1], width_out], initializer=_init(config))
        bias = v1.get_variable("bias", [width_out], initializer=_init(config))
        y = tf.tensordot(x, kernel, axes=1) + bias
        return activation(y) if activation else y


def _layer_norm(x, name="LayerNorm"):
    """tf.contrib.layers.layer_norm over the last axis: beta then gamma, epsilon 1e-12."""
    with v1.variable_scope(name):
        width = x.shape[-1]
        beta = v1.get_variable("beta", [width], initializer=v1.random_normal_initializer(0, 0.1))
        gamma = v1.get_variable("gamma", [width],
                                initializer=v1.random_normal_initializer(1, 0.1))
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return tf.nn.batch_normalization(x, mean, variance, offset=beta, scale=gamma,
                                         variance_epsilon=1e-12)


# Where the six parts of a post-LayerNorm block live below the block's scope: BERT's names
# (google-research/bert modeling.py, reused by ELECTRA); ALBERT passes its own.
BERT_BLOCK = {"self": "attention/self", "attn_out": "attention/output/dense",
              "attn_ln": "attention/output/LayerNorm", "inter": "intermediate/dense",
              "out": "output/dense", "out_ln": "output/LayerNorm"}


def embeddings(config, input_ids, token_type_ids, width):
    """word + token type + position embeddings of `width`, then LayerNorm, in the current scope.
    Returns (output, word table)."""
    steps = tf.shape(input_ids)[1]
    word = v1.get_variable("word_embeddings", [config["vocab_size"], width],
                           initializer=_init(config))
    types = v1.get_variable("token_type_embeddings", [config["type_vocab_size"], width],
                            initializer=_init(config))
    positions = v1.get_variable("position_embeddings", [config["max_position_embeddings"], width],
                                initializer=_init(config))
    x = tf.gather(word, input_ids)
    x += tf.einsum("bst,th->bsh", tf.one_hot(token_type_ids, config["type_vocab_size"]), types)
    x += positions[None, :steps]
    return _layer_norm(x), word


def attention_adder(input_mask):
    return (1.0 - tf.cast(input_mask, tf.float32))[:, None, None, :] * -10000.0


def encoder_block(x, adder, config, act, names=BERT_BLOCK):
    """One post-LayerNorm transformer block in the current scope, its variables named by `names`."""
    H = config["hidden_size"]
    heads_n = config["num_attention_heads"]
    head_dim = H // heads_n
    batch, steps = tf.shape(x)[0], tf.shape(x)[1]

    def split(t):
        return tf.transpose(tf.reshape(t, [batch, steps, heads_n, head_dim]), [0, 2, 1, 3])

    with v1.variable_scope(names["self"]):
        q = split(_dense(x, H, config, "query"))
        k = split(_dense(x, H, config, "key"))
        v = split(_dense(x, H, config, "value"))
        scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(head_dim)
        probs = tf.nn.softmax(scores + adder)
        context = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [batch, steps, H])
    attended = _layer_norm(_dense(context, H, config, names["attn_out"]) + x, names["attn_ln"])
    inner = _dense(attended, config["intermediate_size"], config, names["inter"], activation=act)
    return _layer_norm(_dense(inner, H, config, names["out"]) + attended, names["out_ln"])


def build(config, input_ids, input_mask, token_type_ids, heads=(), num_labels=2,
          activation="erf"):
    """Returns the outputs of the model and of each head in `heads` (a subset of "mlm", "nsp",
    "classifier", "squad"). `pooler` False leaves out bert/pooler (for checkpoints without it)."""
    H = config["hidden_size"]
    act = _act(config.get("hidden_act", "gelu"), activation)
    out = {}
    with v1.variable_scope("bert"):
        with v1.variable_scope("embeddings"):
            x, word = embeddings(config, input_ids, token_type_ids, H)
        adder = attention_adder(input_mask)
        with v1.variable_scope("encoder"):
            for layer in range(config["num_hidden_layers"]):
                with v1.variable_scope(f"layer_{layer}"):
                    x = encoder_block(x, adder, config, act)
        out["last_hidden_state"] = x
        if "pooler" in heads:
            out["pooler_output"] = pooler(x, config)
    pooled_and_mlm_heads(out, x, word, config, act, heads, num_labels)
    if "squad" in heads:
        with v1.variable_scope("cls/squad"):
            w = v1.get_variable("output_weights", [2, H], initializer=_init(config))
            b = v1.get_variable("output_bias", [2], initializer=v1.random_normal_initializer(0, 0.1))
            logits = tf.einsum("bsh,ch->bsc", x, w) + b
            out["start_logits"] = logits[..., 0]
            out["end_logits"] = logits[..., 1]
    return out


def pooler(x, config):
    """pooler/dense: tanh(dense(first token)), in the current scope."""
    with v1.variable_scope("pooler"):
        return _dense(x[:, 0], config["hidden_size"], config, activation=tf.tanh)


def mlm_logits(x, word, config, act, transform="transform"):
    """dense to the width of the word table, act and LayerNorm (in the scope `transform`; ELECTRA's
    generator has none), then the tied word table and output_bias, in the current scope."""
    def transformed():
        return _layer_norm(_dense(x, word.shape[-1], config, activation=act))
    if transform:
        with v1.variable_scope(transform):
            t = transformed()
    else:
        t = transformed()
    bias = v1.get_variable("output_bias", [config["vocab_size"]],
                           initializer=v1.random_normal_initializer(0, 0.1))
    return tf.einsum("bse,ve->bsv", t, word) + bias


def pooled_and_mlm_heads(out, x, word, config, act, heads, num_labels):
    """run_pretraining's cls/predictions ("mlm") and cls/seq_relationship ("nsp"; ALBERT's SOP has
    the same names) and run_classifier's top-level output_weights/output_bias ("classifier"), the
    last two on out["pooler_output"]."""
    H = config["hidden_size"]
    if "mlm" in heads:
        with v1.variable_scope("cls/predictions"):
            out["prediction_logits"] = mlm_logits(x, word, config, act)
    if "nsp" in heads:
        with v1.variable_scope("cls/seq_relationship"):
            w = v1.get_variable("output_weights", [2, H], initializer=_init(config))
            b = v1.get_variable("output_bias", [2], initializer=v1.random_normal_initializer(0, 0.1))
            out["seq_relationship_logits"] = tf.matmul(out["pooler_output"], w, transpose_b=True) + b
    if "classifier" in heads:
        w = v1.get_variable("output_weights", [num_labels, H], initializer=_init(config))
        b = v1.get_variable("output_bias", [num_labels],
                            initializer=v1.random_normal_initializer(0, 0.1))
        out["logits"] = tf.matmul(out["pooler_output"], w, transpose_b=True) + b


def run(config_or_folder, inputs, heads=("pooler",), num_labels=2, restore_from=None,
        save_to=None, seed=0, activation="erf", adam_slots=False, global_step=None, graph=build,
        checkpoint_name="bert_model.ckpt", config_name="bert_config.json"):
    """Builds the graph (`graph`: build, or another family's with its signature); restores `restore_from` (folder or prefix) with a Saver over every model
    variable (so a missing name fails), or initialises randomly and, with `save_to`, saves like
    Google's folders (bert_model.ckpt + bert_config.json), optionally with AdamWeightDecay-style
    `<var>/adam_m`, `<var>/adam_v` slots and a global_step. Returns numpy outputs."""
    config = (load_config(config_or_folder, config_name) if isinstance(config_or_folder, str)
              else config_or_folder)
    tf_graph = tf.Graph()
    with tf_graph.as_default():
        v1.set_random_seed(seed)
        ids = v1.placeholder(tf.int32, [None, None])
        mask = v1.placeholder(tf.int32, [None, None])
        types = v1.placeholder(tf.int32, [None, None])
        outputs = graph(config, ids, mask, types, heads, num_labels, activation)
        model_vars = v1.global_variables()
        extra = []
        if save_to is not None and adam_slots:
            for var in model_vars:
                base = var.name[:-2]
                for slot in ("adam_m", "adam_v"):
                    extra.append(v1.get_variable(base + "/" + slot, var.shape,
                                                 initializer=v1.zeros_initializer()))
        if save_to is not None and global_step is not None:
            extra.append(v1.get_variable("global_step", [], dtype=tf.int64,
                                         initializer=v1.constant_initializer(global_step)))
        saver = v1.train.Saver(var_list=model_vars)
        with v1.Session(graph=tf_graph, config=session_config()) as sess:
            if restore_from is not None:
                restore(saver, sess, restore_from, default_name=checkpoint_name)
            else:
                sess.run(v1.global_variables_initializer())
            feed = {ids: inputs["input_ids"], mask: inputs["attention_mask"],
                    types: inputs["token_type_ids"]}
            result = sess.run(outputs, feed)
            if save_to is not None:
                os.makedirs(save_to, exist_ok=True)
                v1.train.Saver(var_list=model_vars + extra).save(
                    sess, os.path.join(save_to, checkpoint_name), write_meta_graph=False)
                with open(os.path.join(save_to, config_name), "w") as f:
                    json.dump(config, f, indent=2, sort_keys=True)
    return result
