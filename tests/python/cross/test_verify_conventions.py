"""verify and diff across conventions (issue 5): the same weights as HF PyTorch, HF TF2
(tf_model.h5, written by transformers' own from_pt path), OpenAI TF1 and Google TF1 checkpoints
(written with TensorFlow's Saver under the names and layouts of openai/gpt-2 model.py and
google-research/bert modeling.py / run_pretraining.py / run_classifier.py / run_squad.py) agree
stage by stage, and deliberately broken TF-side files are caught at the right layer.

PyTorch and TensorFlow only ever run in subprocesses (conftest.run_python), never together."""
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import run_python
from support.convert_harness import snippet_header
from verify_util import compare_stages, diff, forward, stage, verify

MAKE_PT = r"""
import json, os, sys
os.environ["USE_TF"] = "0"
import numpy as np, torch
import transformers
family, cls_name, kwargs, out = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
config = (transformers.GPT2Config if family == "gpt2" else transformers.BertConfig)(**kwargs)
model = getattr(transformers, cls_name)(config)
model.save_pretrained(out)
np.savez(os.path.join(out, "state.npz"),
         **{k: v.detach().numpy() for k, v in model.state_dict().items()})
print(json.dumps(config.to_dict()))
"""

# The TensorFlow side, in one process because TF is slow to import. Arguments:
#   [--tf2 CLASS PT_DIR OUT]  transformers' TF class from_pretrained(from_pt=True) + save_pretrained
#   NPZ FOLDER ...            a TF1 name-based checkpoint per pair, with tf.compat.v1's Saver
TF_SIDE = r"""
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np, tensorflow as tf
args = sys.argv[1:]
if args[:1] == ["--tf2"]:
    import transformers
    cls_name, src, out = args[1:4]
    getattr(transformers, "TF" + cls_name).from_pretrained(src, from_pt=True).save_pretrained(out)
    args = args[4:]
for npz, out in zip(args[0::2], args[1::2]):
    arrays = np.load(npz)
    with tf.Graph().as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=tf.constant(arrays[name]))
                     for name in arrays.files]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, os.path.join(out, "model.ckpt"), write_meta_graph=False)
print(json.dumps(sorted(os.listdir(out))))
"""


def openai_names(state):
    """HF GPT-2 state dict -> OpenAI model.py variables (conv1d w [1, in, out], LayerNorm g/b)."""
    out = {}
    for key, value in state.items():
        key = key.removeprefix("transformer.")
        if key == "lm_head.weight" or key.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # tied to wte / buffers
        parts = key.split(".")
        if parts[0] in ("wte", "wpe"):
            out[f"model/{parts[0]}"] = value
            continue
        if parts[0] == "h":
            parts = [f"h{parts[1]}"] + parts[2:]
        leaf = parts[-1]
        if parts[-2].startswith("ln_"):
            parts[-1] = "g" if leaf == "weight" else "b"
        else:
            parts[-1] = "w" if leaf == "weight" else "b"
            if leaf == "weight":
                value = value.reshape(1, *value.shape)
        out["model/" + "/".join(parts)] = value
    return out


def google_names(state):
    """HF BERT state dict -> Google TF1 variables: the renaming and transposes of transformers'
    convert_bert_pytorch_checkpoint_to_original_tf.py for the encoder, and the head variables of
    run_pretraining.py (cls/...), run_classifier.py (output_weights) and run_squad.py
    (cls/squad/...), whose output_weights are stored [out, in] and not transposed."""
    heads = {"cls.predictions.bias": "cls/predictions/output_bias",
             "cls.seq_relationship.weight": "cls/seq_relationship/output_weights",
             "cls.seq_relationship.bias": "cls/seq_relationship/output_bias",
             "classifier.weight": "output_weights", "classifier.bias": "output_bias",
             "qa_outputs.weight": "cls/squad/output_weights",
             "qa_outputs.bias": "cls/squad/output_bias"}
    out = {}
    for key, value in state.items():
        if key in heads:
            out[heads[key]] = value
            continue
        if key.startswith("cls.predictions.decoder") or key.endswith("position_ids"):
            continue  # tied to the word embeddings / buffer
        name = key.removeprefix("bert.")
        for a, b in (("layer.", "layer_"), ("word_embeddings.weight", "word_embeddings"),
                     ("position_embeddings.weight", "position_embeddings"),
                     ("token_type_embeddings.weight", "token_type_embeddings"), (".", "/"),
                     ("LayerNorm/weight", "LayerNorm/gamma"), ("LayerNorm/bias", "LayerNorm/beta"),
                     ("weight", "kernel")):
            name = name.replace(a, b)
        if name.endswith("/kernel"):
            value = value.T
        out[name if name.startswith("cls/") else "bert/" + name] = np.ascontiguousarray(value)
    # Training state a real TF1 checkpoint carries; verify must skip it.
    out["global_step"] = np.array(1000, dtype=np.int64)
    slot = "bert/encoder/layer_0/attention/self/query/kernel"
    out[slot + "/adam_m"] = np.zeros_like(out[slot])
    return out


# Reads a TF1 checkpoint with TensorFlow's own reader into an npz (support/tf_shim.py).
DUMP_TF1 = snippet_header("tf") + r"""
from support import tf_shim
print(json.dumps(tf_shim.dump_with_tensorflow(sys.argv[1], sys.argv[2])))
"""

# Runs transformers' own TF1 importer (load_tf_weights_in_gpt2 / _bert) on those arrays in a
# torch-only process (support/tf_shim.py stands in for the two tf.train functions it calls),
# and reports every parameter that differs from the original model. `scope` other than "all"
# keeps only the variables under it.
HF_TF1_IMPORT = snippet_header("torch") + r"""
import numpy as np, transformers
from transformers.models.bert import modeling_bert
from transformers.models.gpt2 import modeling_gpt2
from support import tf_shim
family, arrays_path, pt_dir, scope = sys.argv[1:5]
if scope != "all":
    data = np.load(arrays_path)
    order = [n for n in json.loads(str(data["__order__"])) if n.startswith(scope)]
    arrays = {n: data[n] for n in order}
    arrays_path = arrays_path + ".scoped.npz"
    np.savez(arrays_path, __order__=np.array(json.dumps(order)), **arrays)
config = transformers.AutoConfig.from_pretrained(pt_dir)
model = (modeling_gpt2.GPT2Model if family == "gpt2" else modeling_bert.BertForPreTraining)(config)
tf_shim.install(arrays_path)  # only now, with transformers imported
if family == "gpt2":
    modeling_gpt2.load_tf_weights_in_gpt2(model, config, "ckpt")
    prefix = "transformer."
else:
    modeling_bert.load_tf_weights_in_bert(model, config, "ckpt")
    prefix = ""
original = np.load(os.path.join(pt_dir, "state.npz"))
wrong, checked = [], 0
for name, value in model.state_dict().items():
    key = prefix + name
    if key not in original.files or name.startswith("cls.predictions.decoder"):
        continue  # a head this class lacks; the decoder is tied to the word embeddings
    checked += 1
    if not np.array_equal(value.numpy(), original[key]):
        wrong.append(name)
print(json.dumps({"wrong": wrong, "checked": checked}))
"""


# OpenAI's and Google's model code as TF1 graphs (tests/python/support, written from
# openai/gpt-2 model.py and google-research/bert modeling.py), restoring a TF1 checkpoint with a
# Saver over every model variable and running each sequence: {stage: [array per sequence]} in
# tensorferry's stage names.
TF1_GRAPHS = snippet_header("tf") + r"""
from support import google_bert_tf1, openai_gpt2_tf1
family, folder, sequences, heads, labels, layers = sys.argv[1:7]
sequences, heads = json.loads(sequences), json.loads(heads)
names = {"last_hidden_state": f"layer {int(layers) - 1}", "pooler_output": "pooler",
         "prediction_logits": "mlm logits", "seq_relationship_logits": "nsp logits",
         "logits": "classifier logits", "start_logits": "qa start logits",
         "end_logits": "qa end logits", "hidden": "final layer norm"}
stages = {}
for tokens, types in sequences:
    if family == "gpt2":
        out = openai_gpt2_tf1.run(folder, [tokens], restore_from=folder)
        out = {"hidden": out["hidden"][0], "logits": out["logits"][0]}
    else:
        inputs = {"input_ids": [tokens], "attention_mask": [[1] * len(tokens)],
                  "token_type_ids": [types]}
        out = google_bert_tf1.run(folder, inputs, heads=heads, num_labels=int(labels),
                                  restore_from=folder)
        out = {k: v if k in ("pooler_output", "seq_relationship_logits") or
               (k == "logits" and "classifier" in heads) else v[0] for k, v in out.items()}
    for key, value in out.items():
        name = "logits" if family == "gpt2" and key == "logits" else names[key]
        stages.setdefault(name, []).append(value.tolist())
print(json.dumps(stages))
"""


def write_tf1_many(tmp, specs, tf2=()):
    """specs: [(folder name, {name: array}, config file name, config)] -> folders. With
    tf2 = (class, pt_dir, out), the same TF process also writes the HF TF2 model."""
    folders, args = [], []
    for name, arrays, config_name, config in specs:
        folder = Path(tmp) / name
        folder.mkdir()
        np.savez(folder / "arrays.npz", **arrays)
        (folder / config_name).write_text(json.dumps(config))
        folders.append(folder)
        args += [folder / "arrays.npz", folder]
    run_python(TF_SIDE, *(["--tf2", *tf2] if tf2 else []), *args)
    for folder in folders:
        (folder / "arrays.npz").unlink()
    return folders


def write_tf1(tmp, folder, arrays, config_name, config):
    return write_tf1_many(tmp, [(folder, arrays, config_name, config)])[0]


def load_state(pt_dir):
    with np.load(Path(pt_dir) / "state.npz") as f:
        return {k: f[k] for k in f.files}


GPT2_KW = dict(vocab_size=1000, n_positions=64, n_embd=32, n_layer=4, n_head=4,
               initializer_range=0.2)
BERT_KW = dict(vocab_size=99, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
               intermediate_size=37, max_position_embeddings=64, initializer_range=0.2)


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpt2")
    run_python(MAKE_PT, "gpt2", "GPT2LMHeadModel", json.dumps(GPT2_KW), tmp / "pt")
    state = load_state(tmp / "pt")
    hparams = {"n_vocab": 1000, "n_ctx": 64, "n_embd": 32, "n_head": 4, "n_layer": 4}
    [openai] = write_tf1_many(tmp, [("openai", openai_names(state), "hparams.json", hparams)],
                              tf2=("GPT2LMHeadModel", tmp / "pt", tmp / "tf2"))
    return dict(tmp=tmp, pt=tmp / "pt", tf2=tmp / "tf2", openai=openai, state=state,
                hparams=hparams)


BERT_CLASSES = {"BertForPreTraining": dict(), "BertForSequenceClassification": dict(num_labels=3),
                "BertForQuestionAnswering": dict()}


@pytest.fixture(scope="module", params=sorted(BERT_CLASSES))
def bert(request, tmp_path_factory):
    cls = request.param
    tmp = tmp_path_factory.mktemp(cls)
    config = run_python(MAKE_PT, "bert", cls, json.dumps({**BERT_KW, **BERT_CLASSES[cls]}),
                        tmp / "pt")
    state = load_state(tmp / "pt")
    bert_config = {k: config[k] for k in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
        "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
        "max_position_embeddings", "type_vocab_size", "initializer_range")}
    [google] = write_tf1_many(tmp, [("google", google_names(state), "bert_config.json",
                                      bert_config)], tf2=(cls, tmp / "pt", tmp / "tf2"))
    return dict(cls=cls, tmp=tmp, pt=tmp / "pt", tf2=tmp / "tf2", google=google, state=state,
                bert_config=bert_config)


def agree(a, b, conventions):
    """Both forward passes agree (run although the weights are identical), and without
    --always-forward the identical weights alone decide."""
    rc, quick = verify(a, b)
    assert rc == 0 and quick["proof"] == "identical-weights" and quick["stages"] == []
    rc, report = verify(a, b, "--always-forward")
    assert report["proof"] == "forward"
    assert rc == 0, report["first_failure"]
    assert (report["a"]["convention"], report["b"]["convention"]) == conventions
    assert report["a"]["unused_weights"] == [] and report["b"]["unused_weights"] == []
    worst = max(s["max_abs_error"] for s in report["stages"])
    assert worst < 1e-9, worst
    return report


def test_gpt2_conventions_agree(gpt2):
    agree(gpt2["pt"], gpt2["openai"], ("hf-pytorch", "openai-tf1"))
    agree(gpt2["pt"], gpt2["tf2"], ("hf-pytorch", "hf-tf2"))
    report = agree(gpt2["openai"], gpt2["tf2"], ("openai-tf1", "hf-tf2"))
    assert stage(report, "logits")["cols"] == 1000


def test_bert_conventions_agree_on_every_head(bert):
    expected_heads = {"BertForPreTraining": {"pooler", "mlm logits", "nsp logits"},
                      "BertForSequenceClassification": {"pooler", "classifier logits"},
                      "BertForQuestionAnswering": {"qa start logits", "qa end logits"}}[bert["cls"]]
    for other, convention in ((bert["google"], "google-tf1"), (bert["tf2"], "hf-tf2")):
        report = agree(bert["pt"], other, ("hf-pytorch", convention))
        heads = {s["name"] for s in report["stages"] if s["head"]}
        assert heads == expected_heads
    agree(bert["google"], bert["tf2"], ("google-tf1", "hf-tf2"))


def test_transformers_tf1_importer_reads_the_openai_checkpoint(gpt2, tmp_path):
    """The TF1 files these tests write are what transformers' own importers
    (load_tf_weights_in_gpt2 / load_tf_weights_in_bert) read back as the original model: the
    tests' naming of the OpenAI and Google conventions is the frameworks', not verify's."""
    run_python(DUMP_TF1, gpt2["openai"] / "model.ckpt", tmp_path / "arrays.npz")
    result = run_python(HF_TF1_IMPORT, "gpt2", tmp_path / "arrays.npz", gpt2["pt"], "all")
    assert result["wrong"] == [] and result["checked"] > 10, result


def test_transformers_tf1_importer_reads_the_google_checkpoint(bert, tmp_path):
    run_python(DUMP_TF1, bert["google"] / "model.ckpt", tmp_path / "arrays.npz")
    # transformers' importer knows only the pre-training heads (it fails on run_classifier's
    # output_weights and run_squad's cls/squad); for the other classes it checks the encoder.
    scope = "all" if bert["cls"] == "BertForPreTraining" else "bert/"
    result = run_python(HF_TF1_IMPORT, "bert", tmp_path / "arrays.npz", bert["pt"], scope)
    assert result["wrong"] == [] and result["checked"] > 10, result


def test_openai_model_code_agrees_with_the_reference_forward(gpt2):
    """tensorferry's forward pass on the OpenAI and Google checkpoints against TF executing those
    projects' model code (the support reimplementations, erf GELU for BERT as documented),
    restored from the same files: final hidden states, logits and every head within 1e-5."""
    gpt2_seqs = [([5, 999, 0, 17, 300], None), (list(range(40, 63)), None)]
    ours, _ = forward(gpt2["openai"], [t for t, _ in gpt2_seqs])
    theirs = run_python(TF1_GRAPHS, "gpt2", gpt2["openai"], json.dumps(gpt2_seqs), "[]", 0, 4)
    assert set(theirs) == {"final layer norm", "logits"}
    compare_stages(ours, theirs, 1e-5)


def test_google_model_code_agrees_with_the_reference_forward(bert):
    heads, labels = {"BertForPreTraining": (["pooler", "mlm", "nsp"], 2),
                     "BertForSequenceClassification": (["pooler", "classifier"], 3),
                     "BertForQuestionAnswering": (["squad"], 2)}[bert["cls"]]
    bert_seqs = [([2, 5, 98, 7, 3, 0, 44], [0, 0, 0, 1, 1, 1, 1]), ([1], [0]),
                 (list(range(10, 40)), [0] * 12 + [1] * 18)]
    ours, _ = forward(bert["google"], bert_seqs)
    theirs = run_python(TF1_GRAPHS, "bert", bert["google"], json.dumps(bert_seqs),
                        json.dumps(heads), labels, 3)
    assert len(theirs) == 1 + len(heads) + (1 if "squad" in heads else 0)
    compare_stages(ours, theirs, 1e-5)


def test_broken_google_checkpoints(bert, tmp_path):
    # A square kernel left untransposed (the PyTorch weight written as is): a numeric error.
    untransposed = google_names(bert["state"])
    name = "bert/encoder/layer_1/attention/self/query/kernel"
    untransposed[name] = np.ascontiguousarray(untransposed[name].T)
    # A head's output_weights transposed as if it were a kernel: refused on its shape.
    if bert["cls"] == "BertForQuestionAnswering":
        head_name, head = "cls/squad/output_weights", "qa start logits"
    elif bert["cls"] == "BertForSequenceClassification":
        head_name, head = "output_weights", "classifier logits"
    else:
        head_name, head = "cls/seq_relationship/output_weights", "nsp logits"
    head_transposed = google_names(bert["state"])
    head_transposed[head_name] = np.ascontiguousarray(head_transposed[head_name].T)
    a, b = write_tf1_many(tmp_path, [("q", untransposed, "bert_config.json", bert["bert_config"]),
                                     ("h", head_transposed, "bert_config.json",
                                      bert["bert_config"])])
    rc, report = verify(bert["pt"], a)
    assert rc == 1 and report["first_failure"]["stage"] == "layer 1 attention"
    assert stage(report, "layer 0")["max_abs_error"] < 1e-9
    rc, report = verify(bert["pt"], b)
    assert rc == 1 and report["first_failure"]["stage"] == head
    assert report["first_failure"]["status"] == "CANNOT RUN"
    assert head_name in report["first_failure"]["note"]


def test_broken_openai_checkpoints(gpt2, tmp_path):
    swapped = openai_names(gpt2["state"])
    for name in ("model/h2/attn/c_attn/w", "model/h2/attn/c_attn/b"):
        q, k, v = np.split(swapped[name], 3, axis=-1)
        swapped[name] = np.ascontiguousarray(np.concatenate([k, q, v], axis=-1))
    reshaped = openai_names(gpt2["state"])
    reshaped["model/h0/mlp/c_fc/w"] = reshaped["model/h0/mlp/c_fc/w"][0]  # [in, out]
    a, b = write_tf1_many(tmp_path, [("swap", swapped, "hparams.json", gpt2["hparams"]),
                                     ("shape", reshaped, "hparams.json", gpt2["hparams"])])
    rc, report = verify(gpt2["pt"], a)
    assert rc == 1 and report["first_failure"]["stage"] == "layer 2 attention"
    rc, report = verify(gpt2["pt"], b)
    assert rc == 1 and report["first_failure"]["stage"] == "layer 0"
    assert "[1, 32, 128]" in report["first_failure"]["note"]


def test_broken_tf2_h5_swapped_query_and_key(bert, tmp_path):
    import shutil
    broken = tmp_path / "tf2"
    shutil.copytree(bert["tf2"], broken)
    with h5py.File(broken / "tf_model.h5", "r+") as f:
        paths = []
        f.visit(paths.append)
        q = next(p for p in paths if p.endswith("layer_._0/attention/self/query/kernel:0"))
        k = q.replace("/query/", "/key/")
        qv, kv = f[q][()], f[k][()]
        f[q][...] = kv
        f[k][...] = qv
    rc, report = verify(bert["pt"], broken)
    assert rc == 1 and report["first_failure"]["stage"] == "layer 0 attention"


def test_diff_across_conventions(bert, gpt2, tmp_path):
    rc, report = diff(bert["pt"], bert["google"])
    assert rc == 0, [t for t in report["tensors"] if t["failed"]]
    assert report["matching"] == "bert hf-pytorch <-> bert google-tf1"
    q = next(t for t in report["tensors"]
             if t["canonical"] == "encoder.layer.1.attention.self.query.weight")
    assert q["transposed"] and q["bit_identical"]
    skipped = {t["name_b"] for t in report["tensors"] if t["status"] == "skipped"}
    assert {"global_step", "bert/encoder/layer_0/attention/self/query/kernel/adam_m"} <= skipped

    arrays = google_names(bert["state"])
    name = "bert/encoder/layer_0/intermediate/dense/kernel"  # [32, 37]; PyTorch [37, 32]
    arrays[name] = arrays[name].copy()
    arrays[name][5, 30] += 1.0
    changed = write_tf1(tmp_path, "g", arrays, "bert_config.json", bert["bert_config"])
    rc, report = diff(bert["pt"], changed)
    assert rc == 1
    t = next(t for t in report["tensors"] if t["name_b"] == name)
    assert t["status"] == "DIFFERENT" and t["mismatched"] == 1
    assert t["first_mismatch"]["a"] == [30, 5] and t["first_mismatch"]["b"] == [5, 30]

    rc, report = diff(gpt2["pt"], gpt2["tf2"])
    assert rc == 0, [t for t in report["tensors"] if t["failed"]]
    rc, report = diff(gpt2["openai"], gpt2["tf2"])
    assert rc == 0
