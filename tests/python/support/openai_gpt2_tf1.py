"""OpenAI's GPT-2 as a TensorFlow 1 graph, written for the tests after reading openai/gpt-2
src/model.py (reimplemented for tf.compat.v1, not copied).

What matters for the tests is that the variables carry exactly the names, shapes and meaning of
OpenAI's code, so that `tf.compat.v1.train.Saver().restore` of a converted folder either works
completely or fails naming the missing variable:

    model/wte [n_vocab, n_embd]          model/wpe [n_ctx, n_embd]
    model/h{i}/ln_1/{g,b} [n_embd]       model/h{i}/attn/c_attn/{w [1, E, 3E], b [3E]}
    model/h{i}/attn/c_proj/{w [1,E,E], b}  model/h{i}/ln_2/{g,b}
    model/h{i}/mlp/c_fc/{w [1,E,4E], b [4E]}  model/h{i}/mlp/c_proj/{w [1,4E,E], b [E]}
    model/ln_f/{g,b}

and the same arithmetic: pre-LayerNorm blocks (epsilon 1e-5, inside the rsqrt), tanh-GELU,
attention scaled by 1/sqrt(head_dim) with a causal mask that pushes masked scores to -1e10,
logits = h . wte^T.

Only imported from TensorFlow subprocesses.
"""
import json
import math
import os

import numpy as np
import tensorflow as tf

from support.tf1_session import restore, session_config

v1 = tf.compat.v1


def load_hparams(folder):
    with open(os.path.join(folder, "hparams.json")) as f:
        hparams = json.load(f)
    # OpenAI's HParams.override_from_dict refuses unknown keys and non-integers: so do we.
    expected = {"n_vocab", "n_ctx", "n_embd", "n_head", "n_layer"}
    assert set(hparams) <= expected, f"unexpected hparams keys {set(hparams) - expected}"
    assert all(isinstance(v, int) for v in hparams.values()), hparams
    defaults = {"n_vocab": 0, "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12}
    return {**defaults, **hparams}


def _gelu(x):
    return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))


def _layer_norm(x, name, epsilon=1e-5):
    with v1.variable_scope(name):
        width = x.shape[-1]
        gain = v1.get_variable("g", [width], initializer=v1.constant_initializer(1.0))
        shift = v1.get_variable("b", [width], initializer=v1.constant_initializer(0.0))
        mean = tf.reduce_mean(x, axis=-1, keepdims=True)
        centred = x - mean
        variance = tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True)
        return centred * tf.math.rsqrt(variance + epsilon) * gain + shift


def _projection(x, name, width_out):
    """OpenAI's conv1d: a [1, in, out] kernel used as an [in, out] matrix."""
    with v1.variable_scope(name):
        width_in = x.shape[-1]
        kernel = v1.get_variable("w", [1, width_in, width_out],
                                 initializer=v1.random_normal_initializer(stddev=0.02))
        bias = v1.get_variable("b", [width_out],
                               initializer=v1.random_normal_initializer(stddev=0.02))
        flat = tf.reshape(x, [-1, width_in])
        out = tf.matmul(flat, tf.reshape(kernel, [width_in, width_out])) + bias
        return tf.reshape(out, tf.concat([tf.shape(x)[:-1], [width_out]], axis=0))


def _attention(x, heads):
    batch, steps, width = tf.shape(x)[0], tf.shape(x)[1], x.shape[-1]
    head_dim = width // heads
    qkv = _projection(x, "c_attn", 3 * width)
    q, k, v = tf.split(qkv, 3, axis=2)

    def per_head(t):  # [B, S, E] -> [B, N, S, E/N]
        return tf.transpose(tf.reshape(t, [batch, steps, heads, head_dim]), [0, 2, 1, 3])

    q, k, v = per_head(q), per_head(k), per_head(v)
    scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(head_dim)
    rows = tf.range(steps)[:, None]
    cols = tf.range(steps)[None, :]
    keep = tf.cast(rows >= cols, scores.dtype)[None, None]
    scores = scores * keep - 1e10 * (1.0 - keep)
    probs = tf.nn.softmax(scores, axis=-1)
    mixed = tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3])
    mixed = tf.reshape(mixed, [batch, steps, width])
    return _projection(mixed, "c_proj", width)


def build(hparams, tokens):
    """tokens: int32 [batch, steps]. Returns {"hidden": final LayerNorm output, "logits"}."""
    with v1.variable_scope("model"):
        wpe = v1.get_variable("wpe", [hparams["n_ctx"], hparams["n_embd"]],
                              initializer=v1.random_normal_initializer(stddev=0.01))
        wte = v1.get_variable("wte", [hparams["n_vocab"], hparams["n_embd"]],
                              initializer=v1.random_normal_initializer(stddev=0.02))
        steps = tf.shape(tokens)[1]
        h = tf.gather(wte, tokens) + tf.gather(wpe, tf.range(steps))[None]
        for layer in range(hparams["n_layer"]):
            with v1.variable_scope(f"h{layer}"):
                normed = _layer_norm(h, "ln_1")
                with v1.variable_scope("attn"):
                    h = h + _attention(normed, hparams["n_head"])
                normed = _layer_norm(h, "ln_2")
                with v1.variable_scope("mlp"):
                    up = _gelu(_projection(normed, "c_fc", 4 * hparams["n_embd"]))
                    h = h + _projection(up, "c_proj", hparams["n_embd"])
        h = _layer_norm(h, "ln_f")
        logits = tf.einsum("bse,ve->bsv", h, wte)
        return {"hidden": h, "logits": logits}


def run(folder_or_hparams, token_ids, restore_from=None, save_to=None, seed=0):
    """Builds the graph; restores `restore_from` (a checkpoint prefix or folder) with a Saver over
    every model variable, or initialises randomly (seeded) and, with `save_to`, saves the way
    OpenAI's folders look (model.ckpt + checkpoint + hparams.json). Returns numpy outputs."""
    hparams = (load_hparams(folder_or_hparams) if isinstance(folder_or_hparams, str)
               else folder_or_hparams)
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)
        tokens = v1.placeholder(tf.int32, [None, None])
        outputs = build(hparams, tokens)
        saver = v1.train.Saver(var_list=v1.global_variables())
        with v1.Session(graph=graph, config=session_config()) as sess:
            if restore_from is not None:
                restore(saver, sess, restore_from)
            else:
                sess.run(v1.global_variables_initializer())
                # Biases and LayerNorm parameters random too, so that a swapped or transposed
                # tensor cannot hide behind zeros and ones.
                for var in v1.global_variables():
                    if var.name.endswith(("/g:0", "/b:0")):
                        sess.run(var.assign(np.random.RandomState(len(var.name)).normal(
                            1.0 if var.name.endswith("/g:0") else 0.0, 0.1,
                            var.shape).astype(np.float32)))
            result = sess.run(outputs, {tokens: np.asarray(token_ids, np.int32)})
            if save_to is not None:
                os.makedirs(save_to, exist_ok=True)
                saver.save(sess, os.path.join(save_to, "model.ckpt"), write_meta_graph=False)
                with open(os.path.join(save_to, "hparams.json"), "w") as f:
                    json.dump({k: hparams[k] for k in
                               ("n_vocab", "n_ctx", "n_embd", "n_head", "n_layer")}, f, indent=2)
    return result
