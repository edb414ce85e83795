"""model.ckpt.meta of openai-tf1 and google-tf1 outputs (issue 12 item 7): TensorFlow's own
tf.compat.v1.train.import_meta_graph() builds the graph and the Saver from it, and
saver.restore(sess, prefix) gives every variable the value of the checkpoint, bit for bit; the
graph holds one VariableV2 per tensor with its dtype and shape, and the variables collections
that global_variables() reads."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, run_tf

GPT2 = ROOT / "examples" / "gpt2-tiny"


@pytest.fixture(scope="module")
def bert_tf2(tmp_path_factory):
    """A TFBertForPreTraining folder as transformers saves it (the BERT source of this suite)."""
    os.environ["USE_TORCH"] = "0"
    from transformers import BertConfig, TFBertForPreTraining
    folder = tmp_path_factory.mktemp("bert") / "tf2"
    config = BertConfig(vocab_size=120, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=24, max_position_embeddings=20)
    model = TFBertForPreTraining(config)
    model(model.dummy_inputs)
    model.save_pretrained(folder)
    (folder / "vocab.txt").write_text("".join(f"[unused{i}]\n" for i in range(120)))
    return folder


def restore_through_meta_graph(prefix):
    """import_meta_graph + restore; returns {variable name: value} and the graph's VariableV2s."""
    with tf.Graph().as_default() as graph:
        saver = tf.compat.v1.train.import_meta_graph(f"{prefix}.meta")
        assert saver is not None, "the meta graph has no SaverDef"
        variables = {n.name: n for n in graph.as_graph_def().node if n.op == "VariableV2"}
        with tf.compat.v1.Session(graph=graph) as sess:
            saver.restore(sess, str(prefix))
            values = dict(zip(variables, sess.run([f"{n}:0" for n in variables])))
        collected = [v.op.name for v in tf.compat.v1.global_variables()]
    return values, variables, collected


def check_meta_graph(prefix):
    reader = tf.train.load_checkpoint(str(prefix))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    values, nodes, collected = restore_through_meta_graph(prefix)
    assert set(values) == set(shapes)
    assert sorted(collected) == sorted(shapes)
    for name in shapes:
        node = nodes[name]
        assert tf.dtypes.as_dtype(node.attr["dtype"].type) == dtypes[name], name
        assert [d.size for d in node.attr["shape"].shape.dim] == shapes[name], name
        expected = np.asarray(reader.get_tensor(name))
        got = np.asarray(values[name])
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        assert got.tobytes() == expected.tobytes(), name
    return shapes


@pytest.mark.parametrize("flags", [[], ["--dtype", "bf16"], ["--dtype", "f16"]],
                         ids=["f32", "bf16", "f16"])
def test_openai_output_restores_through_its_meta_graph(tmp_path, flags):
    out = tmp_path / "openai"
    proc = run_tf("convert", GPT2, out, "--to", "openai-tf1", "--no-verify", *flags)
    assert "model.ckpt.meta" in proc.stdout
    shapes = check_meta_graph(out / "model.ckpt")
    assert shapes["model/h1/attn/c_attn/w"] == [1, 32, 96]


def test_google_output_restores_through_its_meta_graph(tmp_path, bert_tf2):
    out = tmp_path / "google"
    run_tf("convert", bert_tf2, out, "--to", "google-tf1", "--no-verify")
    shapes = check_meta_graph(out / "bert_model.ckpt")
    assert shapes["global_step"] == [] and "cls/predictions/output_bias" in shapes
    with tf.Graph().as_default():
        tf.compat.v1.train.import_meta_graph(str(out / "bert_model.ckpt.meta"))
        step = tf.compat.v1.train.get_global_step()
        assert step is not None and step.op.name == "global_step"
        trainable = {v.op.name for v in tf.compat.v1.trainable_variables()}
    assert "global_step" not in trainable and len(trainable) == len(shapes) - 1


def test_meta_graph_holds_no_values(tmp_path):
    """Per-variable metadata only: the same model with half the bytes per value gives a .meta
    file of nearly the same size, a couple of KB per variable."""
    sizes = {}
    for dtype in ("f32", "bf16"):
        out = tmp_path / dtype
        run_tf("convert", GPT2, out, "--to", "openai-tf1", "--no-verify", "--dtype", dtype)
        sizes[dtype] = (Path(out, "model.ckpt.meta").stat().st_size,
                        sum(p.stat().st_size for p in out.glob("model.ckpt.data-*")))
    assert sizes["f32"][1] == 2 * sizes["bf16"][1]
    # Only each variable's zero initializer constant shrinks (4 -> 2 bytes for 28 variables).
    assert 0 <= sizes["f32"][0] - sizes["bf16"][0] <= 2 * 28
    assert sizes["f32"][0] < 2048 * 28
