"""A TF1 training folder as Google's BERT scripts leave it (issue 12 items 3 and 8): several
checkpoints of one run (a real tf.compat.v1 Saver with global_step, max_to_keep), their .meta
graphs, the `checkpoint` state file and a TensorBoard events file, with real Adam slots. The
conversion names the prefix it read (the newest, model.ckpt-3), sums the training state up by
kind (every tensor with -v), lists every other file of the folder with the reason it stays
behind, and `diff` describes the same tensors in the same words."""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
import tensorflow as tf

from conftest import run_tf
from support import google_bert_tf1

v1 = tf.compat.v1
CONFIG = dict(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=24, max_position_embeddings=20, type_vocab_size=2,
              hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
              initializer_range=0.02)


@pytest.fixture(scope="module")
def training_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run") / "bert"
    folder.mkdir()
    graph = tf.Graph()
    with graph.as_default():
        ids = tf.constant([[1, 5, 7, 2]])
        out = google_bert_tf1.build(CONFIG, ids, tf.ones_like(ids), tf.zeros_like(ids),
                                   heads=("pooler",))
        model_variables = v1.global_variables()
        step = v1.train.get_or_create_global_step()
        loss = tf.reduce_sum(out["last_hidden_state"] ** 2) + tf.reduce_sum(out["pooler_output"])
        train = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=step)
        saver = v1.train.Saver(max_to_keep=5)
        writer = v1.summary.FileWriter(str(folder), graph)
        writer.close()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            for target in (1, 3):
                while sess.run(step) < target:
                    sess.run(train)
                saver.save(sess, str(folder / "model.ckpt"), global_step=step)
    (folder / "bert_config.json").write_text(json.dumps(CONFIG))
    (folder / "vocab.txt").write_text("".join(f"[unused{i}]\n" for i in range(60)))
    return folder, len(model_variables)


def test_report_names_the_prefix_and_sums_up_training_state(training_folder, tmp_path):
    folder, n_model = training_folder
    proc = run_tf("convert", folder, tmp_path / "hf", "--to", "hf-pytorch")
    text = proc.stdout
    assert f"({folder / 'model.ckpt-3'}, tf-bundle)" in text, text
    # Adam's two slots per variable, its beta powers, the step.
    summary = (f"training state not converted ({2 * n_model + 3}): {2 * n_model + 2} optimizer "
               "slots (Adam, beta1_power, beta2_power), global_step\n")
    assert summary in text, text
    assert "/Adam_1: optimizer slot (Adam)" not in text
    assert "note: model.ckpt-1.* (2 files) not carried over: another TensorFlow checkpoint, not " \
           "converted (the conversion read model.ckpt-3)" in text, text
    assert "note: model.ckpt-3.meta not carried over: TF1 graph of a checkpoint (MetaGraphDef)" \
        in text, text
    events = [f.name for f in folder.glob("events.out.tfevents.*")]
    assert len(events) == 1
    assert f"note: {events[0]} not carried over: TensorBoard event log of the training run" in text

    verbose = run_tf("convert", folder, tmp_path / "hf_v", "--to", "hf-pytorch", "-v").stdout
    assert summary.replace("\n", ":\n") in verbose
    listed = [line for line in verbose.splitlines() if line.startswith("  ") and
              (": optimizer slot (" in line or ": training counter" in line)]
    assert len(listed) == 2 * n_model + 3
    assert "  bert/embeddings/word_embeddings/Adam_1: optimizer slot (Adam)" in listed
    assert "  global_step: training counter" in listed


def test_diff_uses_the_words_of_convert(training_folder, tmp_path):
    folder, _ = training_folder
    report = json.loads(run_tf("convert", folder, tmp_path / "hf", "--to", "hf-pytorch",
                               "--json").stdout)
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    proc = run_tf("diff", folder, tmp_path / "hf", "--json", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    one_sided = {t["name_a"]: t for t in json.loads(proc.stdout)["tensors"] if not t["name_b"]}
    assert set(one_sided) == set(reasons)
    for name, entry in one_sided.items():
        assert entry["status"] == "skipped", entry
        assert entry["note"] == reasons[name], (name, entry["note"], reasons[name])
