"""A stand-in `tensorflow` module offering only tf.train.list_variables / load_variable, served
from an .npz that a real TensorFlow process wrote with those same calls. It lets transformers'
load_tf_weights_in_gpt2 / load_tf_weights_in_bert (which import tensorflow) run inside a PyTorch
process, since the tests never load TensorFlow and PyTorch in one process."""
import json
import sys
import types

import numpy as np


def install(npz_path):
    data = np.load(npz_path)
    order = json.loads(str(data["__order__"]))

    def list_variables(path):
        return [(name, list(data[name].shape)) for name in order]

    def load_variable(path, name):
        return data[name]

    tf = types.ModuleType("tensorflow")
    tf.train = types.SimpleNamespace(list_variables=list_variables, load_variable=load_variable)
    sys.modules["tensorflow"] = tf
    return tf


def dump_with_tensorflow(checkpoint, npz_path):
    """Run in a TensorFlow process: every variable through tf.train.load_variable into an npz."""
    import tensorflow as tf
    names = [name for name, _ in tf.train.list_variables(checkpoint)]
    arrays = {name: tf.train.load_variable(checkpoint, name) for name in names}
    np.savez(npz_path, __order__=np.array(json.dumps(names)), **arrays)
    return names
