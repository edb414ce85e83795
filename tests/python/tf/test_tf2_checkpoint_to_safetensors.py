"""A TF2 object-based checkpoint (tf.train.Checkpoint) converts to safetensors: its
_CHECKPOINTABLE_OBJECT_GRAPH (a string tensor of bookkeeping that safetensors cannot hold) is
skipped with a note, and every variable (weights, optimizer slots, counters) is written with the
value TensorFlow reads (issue 12 item 6)."""
import numpy as np
import tensorflow as tf
from safetensors import safe_open

from conftest import run_tf

OBJECT_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


def make_checkpoint(folder):
    model = tf.Module()
    model.kernel = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4) / 7, name="kernel")
    model.bias = tf.Variable(np.array([0.5, -1.0, 65504.0], np.float16), name="bias")
    model.steps = tf.Variable(np.array([3, -4], np.int64), name="steps")
    optimizer = tf.keras.optimizers.legacy.Adam(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model.kernel ** 2)
    optimizer.apply_gradients([(tape.gradient(loss, model.kernel), model.kernel)])
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    return checkpoint.save(str(folder / "ckpt"))


def test_object_based_checkpoint_converts_to_safetensors(tmp_path):
    prefix = make_checkpoint(tmp_path)
    out = tmp_path / "model.safetensors"
    proc = run_tf("convert", prefix, out)
    assert f"skipped {OBJECT_GRAPH}: TF2 object graph" in proc.stdout, proc.stdout

    reader = tf.train.load_checkpoint(prefix)
    expected = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
                if name != OBJECT_GRAPH}
    # Weights, the Adam slots, the optimizer's hyperparameters and counters, save_counter.
    assert len(expected) >= 9 and any(".OPTIMIZER_SLOT" in n for n in expected)
    with safe_open(str(out), framework="numpy") as f:
        assert set(f.keys()) == set(expected)
        for name, value in expected.items():
            got = f.get_tensor(name)
            value = np.asarray(value)
            assert got.dtype == value.dtype and got.shape == value.shape, name
            assert got.tobytes() == value.tobytes(), name


def test_object_based_checkpoint_keeps_its_graph_in_a_tf_bundle(tmp_path):
    """Only containers that cannot use it drop the object graph."""
    prefix = make_checkpoint(tmp_path)
    proc = run_tf("convert", prefix, tmp_path / "copy.ckpt")
    assert "skipped" not in proc.stdout
    assert OBJECT_GRAPH in tf.train.load_checkpoint(str(tmp_path / "copy.ckpt")) \
        .get_variable_to_shape_map()
