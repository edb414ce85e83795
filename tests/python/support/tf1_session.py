"""What the two TF1 reference graphs (openai_gpt2_tf1, google_bert_tf1) share: a session that
computes the plain arithmetic, and restoring a Saver from a folder or a checkpoint prefix.

Only imported from TensorFlow subprocesses."""
import os

import tensorflow as tf

v1 = tf.compat.v1


def session_config():
    """Grappler's oneDNN remapper rewrites LayerNorm-shaped subgraphs into a fused kernel that
    crashes in TF 2.15 ("key not found: value"); the tests want the plain arithmetic anyway."""
    from tensorflow.core.protobuf import rewriter_config_pb2
    config = v1.ConfigProto()
    config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
    return config


def restore(saver, sess, folder_or_prefix, default_name=None):
    """Restores from a checkpoint prefix, or from a folder through its `checkpoint` state file
    (falling back to `default_name` inside the folder when there is none)."""
    path = folder_or_prefix
    if os.path.isdir(path):
        path = v1.train.latest_checkpoint(path)
        if path is None and default_name is not None:
            path = os.path.join(folder_or_prefix, default_name)
        assert path is not None, f"no checkpoint state file in {folder_or_prefix}"
    saver.restore(sess, path)
