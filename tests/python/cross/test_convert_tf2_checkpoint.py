"""TF2 object-based checkpoints (issue 17): `tf.train.Checkpoint(model=TF...Model).save()` of every
family with an hf-tf2 convention, some after a training step with an optimizer that has slots,
converted to hf-pytorch with the config.json beside the checkpoint; the output loads with
AutoModel*.from_pretrained (no missing or unexpected keys) and its outputs and hidden states agree
with the TF model's within 1e-5; `tensorferry verify` between the checkpoint and the output passes.
Hostile checkpoints (an object graph whose full_name disagrees with the tensor, a truncated graph,
a graph naming a tensor the bundle lacks, a missing or wrong config) exit 3 naming what is wrong.
TF and torch run in separate processes."""
import json
import shutil

import pytest

from conftest import run_python, run_tf
from support.convert_harness import convert, snippet_header

TOL = 1e-5
ENCODER = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
               intermediate_size=37, max_position_embeddings=40)
DISTILBERT = dict(vocab_size=97, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                  max_position_embeddings=40)
# name -> (TF class without "TF", config class, config, labels, optimizer, torch Auto class).
# optimizer: "" none, "adam" Keras' Adam (slots in a list, optimizer/_variables/N), "legacy" the
# legacy Adam (slot variables hung off each weight, .OPTIMIZER_SLOT keys).
CASES = {
    "bert_cls": ("BertForSequenceClassification", "BertConfig", ENCODER, 3, "adam",
                 "AutoModelForSequenceClassification"),
    "bert_pre": ("BertForPreTraining", "BertConfig", ENCODER, 0, "legacy", "AutoModelForPreTraining"),
    "bert_base": ("BertModel", "BertConfig", ENCODER, 0, "", "AutoModel"),
    "gpt2_lm": ("GPT2LMHeadModel", "GPT2Config",
                dict(vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_positions=40), 0, "adam",
                "AutoModelForCausalLM"),
    "roberta_mlm": ("RobertaForMaskedLM", "RobertaConfig",
                    dict(ENCODER, type_vocab_size=1, pad_token_id=1), 0, "legacy",
                    "AutoModelForMaskedLM"),
    "xlmr_tok": ("XLMRobertaForTokenClassification", "XLMRobertaConfig",
                 dict(ENCODER, type_vocab_size=1, pad_token_id=1), 4, "", "AutoModelForTokenClassification"),
    # ALBERT's MLM head trained one step: TFAlbertMLMHead never applies its `bias` (the logits
    # add `decoder/bias`), so the step leaves the two apart and only `decoder/bias` is the model's.
    "albert_pre": ("AlbertForPreTraining", "AlbertConfig", dict(ENCODER, embedding_size=16), 0,
                   "adam", "AutoModelForPreTraining"),
    "albert_cls": ("AlbertForSequenceClassification", "AlbertConfig",
                   dict(ENCODER, embedding_size=16), 2, "adam", "AutoModelForSequenceClassification"),
    "electra_disc": ("ElectraForPreTraining", "ElectraConfig", dict(ENCODER, embedding_size=16), 0,
                     "adam", "AutoModelForPreTraining"),
    "electra_gen": ("ElectraForMaskedLM", "ElectraConfig", dict(ENCODER, embedding_size=16), 0, "",
                    "AutoModelForMaskedLM"),
    "distilbert_mlm": ("DistilBertForMaskedLM", "DistilBertConfig", DISTILBERT, 0, "adam",
                       "AutoModelForMaskedLM"),
    "distilbert_qa": ("DistilBertForQuestionAnswering", "DistilBertConfig", DISTILBERT, 0, "legacy",
                      "AutoModelForQuestionAnswering"),
}
INPUTS = {"input_ids": [[0, 7, 50, 2, 23, 96, 2], [0, 45, 3, 88, 2, 5, 9]],
          "attention_mask": [[1] * 7, [1, 1, 1, 1, 1, 0, 0]]}
SKIP_OUTPUTS = ("hidden_states", "attentions", "past_key_values", "loss")

MAKE_TF = snippet_header("tf") + r"""
import numpy as np, tensorflow as tf, transformers
work, cases, inputs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
feed = {k: np.array(v, np.int32) for k, v in inputs.items()}
for i, (name, (cls, config_cls, config, labels, optimizer, _)) in enumerate(cases.items()):
    kw = dict(config, num_labels=labels) if labels else dict(config)
    cfg = getattr(transformers, config_cls)(**kw)
    model = getattr(transformers, "TF" + cls)(cfg)
    model(model.dummy_inputs)
    rng = np.random.default_rng(10 + i)
    # Biases and LayerNorms random too: zeros and ones would hide swapped tensors.
    for v in model.weights:
        scale = 0.1 if len(v.shape) == 1 else 0.2
        center = 1.0 if "gamma" in v.name else 0.0
        v.assign(rng.normal(center, scale, v.shape).astype(np.float32))
    parts = {"model": model}
    if optimizer:
        opt = (tf.keras.optimizers.legacy.Adam if optimizer == "legacy" else tf.keras.optimizers.Adam)(1e-2)
        with tf.GradientTape() as tape:
            out = model(feed, training=False)
            first = out[0] if not hasattr(out, "logits") else out.logits
            loss = tf.reduce_sum(first ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients([(g, v) for g, v in zip(grads, model.trainable_variables) if g is not None])
        parts["optimizer"] = opt
    out = model(feed, output_hidden_states=True, training=False)
    ref = {"hidden_state_%d" % k: h.numpy() for k, h in enumerate(out.hidden_states)}
    for key, value in out.items():
        if key not in %(skip)r and value is not None: ref[key] = value.numpy()
    folder = os.path.join(work, "src", name)
    tf.train.Checkpoint(**parts).save(os.path.join(folder, "ckpt"))
    cfg.architectures = [cls]  # as save_pretrained records it
    cfg.save_pretrained(folder)
    if name == "gpt2_lm":  # Keras' own TF-format weights: the model is the graph's root
        model.save_weights(os.path.join(work, "src", "gpt2_save_weights", "weights"))
        cfg.save_pretrained(os.path.join(work, "src", "gpt2_save_weights"))
    np.savez(os.path.join(work, "ref", name + ".npz"), **ref)
print(json.dumps("ok"))
""".replace("%(skip)r", repr(SKIP_OUTPUTS))

CHECK_TORCH = snippet_header("torch") + r"""
import numpy as np, torch, transformers
work, cases, inputs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
feed = {k: torch.tensor(v) for k, v in inputs.items()}
result = {}
for name, case in cases.items():
    auto = case[5]
    model, info = getattr(transformers, auto).from_pretrained(os.path.join(work, "out", name),
                                                              output_loading_info=True)
    with torch.no_grad():
        out = model.eval()(**feed, output_hidden_states=True)
    ref = np.load(os.path.join(work, "ref", name + ".npz"))
    got = {"hidden_state_%d" % k: h.numpy() for k, h in enumerate(out.hidden_states)}
    for key, value in out.items():
        if key not in %(skip)r and value is not None: got[key] = value.numpy()
    diff = {k: (float(np.max(np.abs(got[k].astype(np.float64) - ref[k]))) if k in got else None)
            for k in ref.files}
    result[name] = {"class": type(model).__name__, "diff": diff,
                    "info": {k: sorted(map(str, v)) for k, v in info.items() if k != "error_msgs"}}
print(json.dumps(result))
""".replace("%(skip)r", repr(SKIP_OUTPUTS))


@pytest.fixture(scope="module")
def tf2(tmp_path_factory):
    work = tmp_path_factory.mktemp("tf2ckpt")
    for sub in ("src", "ref", "out"):
        (work / sub).mkdir()
    run_python(MAKE_TF, work, json.dumps(CASES), json.dumps(INPUTS))
    reports = {name: convert(work / "src" / name, work / "out" / name, "hf-pytorch")
               for name in CASES}
    checks = run_python(CHECK_TORCH, work, json.dumps(CASES), json.dumps(INPUTS))
    return {"work": work, "reports": reports, "checks": checks}


def test_every_family_loads_and_matches_the_tf_model(tf2):
    for name, (cls, *_rest) in CASES.items():
        check = tf2["checks"][name]
        assert check["class"] == cls, name
        for key in ("missing_keys", "unexpected_keys", "mismatched_keys"):
            assert check["info"].get(key, []) == [], (name, check["info"])
        diff = check["diff"]
        # Every hidden state and every head output the TF model gave, compared.
        assert "hidden_state_0" in diff and "hidden_state_2" in diff, name
        if cls not in ("BertModel",):
            assert set(diff) - {k for k in diff if k.startswith("hidden_state_")}, (name, diff)
        for key, value in diff.items():
            assert value is not None and value <= TOL, (name, key, value)


def test_reports_name_the_source_and_skip_the_training_state(tf2):
    for name, (cls, _, _, _, optimizer, _) in CASES.items():
        report = tf2["reports"][name]
        text = json.dumps(report)
        assert report["source"]["convention"] == "hf-tf2", report["source"]
        assert report["source"]["format"] == "tf-bundle", report["source"]
        assert "_CHECKPOINTABLE_OBJECT_GRAPH" in text and "save_counter" in text, name
        slots = [s for s in report["skipped"] if "optimizer" in s["reason"]]
        assert bool(slots) == bool(optimizer), (name, slots[:3])
        if optimizer == "legacy":
            assert any(".OPTIMIZER_SLOT" in s["name"] for s in slots), name
        # No weight left behind as unknown: every variable of the model was converted.
        assert not [s for s in report["skipped"] if "not in the" in s["reason"]], name
        if name == "albert_pre":  # trained apart from decoder/bias: skipped, not compared
            assert [s for s in report["skipped"] if "never applies" in s["reason"]], report["skipped"]
        assert report["verify"]["passed"] is True, (name, report.get("verify"))


def test_verify_between_checkpoint_and_output_passes(tf2):
    work = tf2["work"]
    for name in ("bert_cls", "albert_pre", "gpt2_lm"):
        proc = run_tf("verify", work / "src" / name, work / "out" / name, "--always-forward")
        assert "ok" in proc.stdout or "passed" in proc.stdout, proc.stdout
        # The prefix itself names the checkpoint too.
        run_tf("verify", work / "src" / name / "ckpt-1", work / "out" / name)


def test_a_prefix_converts_like_its_folder(tf2, tmp_path):
    work = tf2["work"]
    report = convert(work / "src" / "bert_base" / "ckpt-1.index", tmp_path / "out", "hf-pytorch")
    assert report["source"]["checkpoint"].endswith("ckpt-1"), report["source"]
    a = (work / "out" / "bert_base" / "model.safetensors").read_bytes()
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == a


# ---- hostile checkpoints --------------------------------------------------------------------

# Rewrites the bundle of src/<name> into <dst>/ckpt-1 with its object graph edited: "swap"
# exchanges two variables' full_names, "truncate" cuts the serialized graph in half, "cut" drops
# the second half of its nodes (a shorter graph that still parses), "drop" leaves
# one weight out of the bundle (the graph still names it).
EDIT_TF = snippet_header("tf") + r"""
import numpy as np, tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2
src, dst, how, a, b = sys.argv[1:6]
reader = tf.train.load_checkpoint(src)
names = sorted(reader.get_variable_to_shape_map())
values = {n: reader.get_tensor(n) for n in names}
graph = trackable_object_graph_pb2.TrackableObjectGraph()
graph.ParseFromString(values["_CHECKPOINTABLE_OBJECT_GRAPH"])
attrs = {att.checkpoint_key: att for node in graph.nodes for att in node.attributes}
if how == "swap":
    attrs[a].full_name, attrs[b].full_name = attrs[b].full_name, attrs[a].full_name
    values["_CHECKPOINTABLE_OBJECT_GRAPH"] = graph.SerializeToString()
elif how == "truncate":
    data = values["_CHECKPOINTABLE_OBJECT_GRAPH"]
    values["_CHECKPOINTABLE_OBJECT_GRAPH"] = data[: len(data) // 2]
elif how == "cut":  # cut at a node boundary: still a valid proto, half the nodes missing
    del graph.nodes[len(graph.nodes) // 2:]
    values["_CHECKPOINTABLE_OBJECT_GRAPH"] = graph.SerializeToString()
elif how == "drop":
    del values[a]
names = sorted(values)
tf.raw_ops.SaveV2(prefix=os.path.join(dst, "ckpt-1"), tensor_names=names,
                  shape_and_slices=[""] * len(names), tensors=[tf.constant(values[n]) for n in names])
open(os.path.join(dst, "checkpoint"), "w").write('model_checkpoint_path: "ckpt-1"\n')
print(json.dumps("ok"))
"""

QUERY = "model/bert/encoder/layer/0/attention/self_attention/query/kernel/.ATTRIBUTES/VARIABLE_VALUE"
INTERMEDIATE = "model/bert/encoder/layer/0/intermediate/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"


def hostile(tf2, tmp_path, how, a="", b="", config=True):
    folder = tmp_path / how
    folder.mkdir()
    src = tf2["work"] / "src" / "bert_base"
    run_python(EDIT_TF, src / "ckpt-1", folder, how, a, b)
    if config:
        shutil.copy(src / "config.json", folder / "config.json")
    proc = run_tf("convert", folder, tmp_path / f"{how}_out", "--to", "hf-pytorch", check=False)
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr)
    assert not (tmp_path / f"{how}_out").exists()
    return proc.stderr


def test_full_name_that_disagrees_with_the_tensor_shape(tf2, tmp_path):
    err = hostile(tf2, tmp_path, "swap", QUERY, INTERMEDIATE)
    # The query's name now sits on the [32, 37] intermediate kernel: the config says [32, 32].
    assert "layer_._0/attention/self/query/kernel" in err, err
    assert "[32, 37]" in err and "config.json" in err, err
    # Where the bundle stores it: the data file, the byte offset, the object path.
    assert "ckpt-1.data-00000-of-00001" in err and "at byte" in err, err
    assert INTERMEDIATE in err, err


def test_truncated_object_graph(tf2, tmp_path):
    err = hostile(tf2, tmp_path, "truncate")
    assert "ckpt-1.data-00000-of-00001" in err and "at byte" in err, err
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in err and "not a TrackableObjectGraph" in err, err


def test_object_graph_cut_short(tf2, tmp_path):
    """A graph that parses but lacks nodes leaves weights without a name: refused, naming one."""
    err = hostile(tf2, tmp_path, "cut")
    assert "ckpt-1.data-00000-of-00001" in err and "at byte" in err, err
    assert "/.ATTRIBUTES/VARIABLE_VALUE" in err and "no variable of the object graph" in err, err


def test_graph_naming_a_tensor_the_bundle_lacks(tf2, tmp_path):
    err = hostile(tf2, tmp_path, "drop", QUERY)
    assert "_CHECKPOINTABLE_OBJECT_GRAPH" in err and QUERY in err, err
    assert "does not hold" in err and "at byte" in err, err


def test_missing_config(tf2, tmp_path):
    folder = tmp_path / "noconfig"
    shutil.copytree(tf2["work"] / "src" / "bert_base", folder)
    (folder / "config.json").unlink()
    for given in (folder, folder / "ckpt-1"):
        proc = run_tf("convert", given, tmp_path / "out", "--to", "hf-pytorch", check=False)
        assert proc.returncode == 3, (proc.returncode, proc.stderr)
        assert str(folder / "config.json") in proc.stderr, proc.stderr
        assert "TF2 object-based checkpoint" in proc.stderr, proc.stderr
    proc = run_tf("verify", folder, tf2["work"] / "out" / "bert_base", check=False)
    assert proc.returncode == 3 and "config.json" in proc.stderr, proc.stderr


@pytest.mark.parametrize("edit, expected", [
    ({"num_hidden_layers": 1}, "layer count in config.json"),
    ({"hidden_size": 48, "num_attention_heads": 4}, "config.json implies"),
    ({"model_type": "gpt2", "architectures": None}, "none of the gpt2 base-model tensors"),
])
def test_config_that_does_not_match_the_tensors(tf2, tmp_path, edit, expected):
    folder = tmp_path / "wrongconfig"
    shutil.copytree(tf2["work"] / "src" / "bert_base", folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(edit)
    (folder / "config.json").write_text(json.dumps(config))
    proc = run_tf("convert", folder, tmp_path / "out", "--to", "hf-pytorch", check=False)
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr)
    assert expected in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_keras_save_weights_in_tf_format(tf2, tmp_path):
    """model.save_weights(prefix) writes the same kind of bundle, rooted at the model."""
    work = tf2["work"]
    report = convert(work / "src" / "gpt2_save_weights", tmp_path / "out", "hf-pytorch")
    assert report["source"]["checkpoint"].endswith("weights"), report["source"]
    assert report["verify"]["passed"] is True
    a = (work / "out" / "gpt2_lm" / "model.safetensors").read_bytes()
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == a


def test_other_targets_of_the_family(tf2, tmp_path):
    """The checkpoint is an hf-tf2 source like any other: into tf_model.h5 and Google's TF1 names
    too, each checked by convert's verify step against the checkpoint."""
    work = tf2["work"]
    for name, to in (("bert_cls", "hf-tf2"), ("gpt2_lm", "openai-tf1"), ("electra_disc", "google-tf1")):
        report = convert(work / "src" / name, tmp_path / f"{name}_{to}", to)
        assert report["target"]["convention"] == to
        assert report["verify"]["passed"] is True, (name, to, report["verify"])
