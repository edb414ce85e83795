"""DistilBERT (issue 17): every head class converted hf-pytorch <-> hf-tf2 by tensorferry, from
sources written by transformers' PyTorch classes and by its TF classes, loaded by the real
loaders (AutoModel* for PyTorch, TFAutoModel* without from_pt) with no missing or unexpected
keys, and agreeing with the source framework within 1e-5 on the head's output and on every
hidden state. DistilBERT's own facts: no token types, its layer names
(transformer.layer.N.attention.q_lin, sa_layer_norm, ffn.lin1, output_layer_norm), its config
keys (dim, n_layers, n_heads, hidden_dim, activation), a sinusoidal position table carried as
stored. verify's forward pass is checked against PyTorch's and catches broken TF2 conversions at
the stage they break. Torch and TF run in separate processes."""
import json
import re
import shutil

import pytest

from conftest import run_python, run_tf
from support.convert_harness import (check_dry_run_and_cast_shards, check_missing_and_extra,
                                     convert, snippet_header)

TOL = 1e-5
CONFIG = dict(vocab_size=97, dim=32, n_layers=3, n_heads=4, hidden_dim=37,
              max_position_embeddings=40, initializer_range=0.2)
INPUTS = {"input_ids": [[2, 7, 50, 1, 23, 96, 3, 11], [2, 45, 3, 88, 9, 3, 0, 0]],
          "attention_mask": [[1] * 8, [1, 1, 1, 1, 1, 1, 0, 0]]}
# name -> (class, config changes). pt_* are written by PyTorch, tf_* by TF.
SOURCES = {
    "pt_mlm": ("DistilBertForMaskedLM", {}),
    "pt_cls": ("DistilBertForSequenceClassification", {"num_labels": 3}),
    "pt_qa": ("DistilBertForQuestionAnswering", {}),
    "pt_base": ("DistilBertModel", {}),
    # A sinusoidal position table (kept as DistilBertModel made it) and ReLU layers.
    "pt_sin": ("DistilBertModel", {"sinusoidal_pos_embds": True, "activation": "relu"}),
    "tf_mlm": ("DistilBertForMaskedLM", {}),
    "tf_cls": ("DistilBertForSequenceClassification", {"num_labels": 3}),
    "tf_qa": ("DistilBertForQuestionAnswering", {}),
    "tf_base": ("DistilBertModel", {"activation": "gelu_new"}),
}
HEAD_OUTPUT = {"DistilBertForMaskedLM": {"logits"},
               "DistilBertForSequenceClassification": {"logits"},
               "DistilBertForQuestionAnswering": {"start_logits", "end_logits"},
               "DistilBertModel": set()}
HIDDEN = {f"hidden_{i}" for i in range(CONFIG["n_layers"] + 1)}
SHARDED = (("pt_mlm", "hf-tf2"), ("tf_cls", "hf-pytorch"))

COMMON = r"""
import numpy as np
from support.model_checks import compare, to_numpy
def outputs_dict(out):
    d = {f"hidden_{i}": h for i, h in enumerate(out.hidden_states)}
    for k in ("logits", "start_logits", "end_logits"):
        if getattr(out, k, None) is not None: d[k] = out[k]
    return to_numpy(d)
work, config, inputs, sources = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
"""

MAKE_TORCH = snippet_header("torch") + COMMON + r"""
import torch, transformers
feed = {k: torch.tensor(v) for k, v in inputs.items()}
for i, (name, (cls, changes)) in enumerate(sources.items()):
    torch.manual_seed(30 + i)
    model = getattr(transformers, cls)(transformers.DistilBertConfig(**config, **changes)).eval()
    with torch.no_grad():  # biases and LayerNorms random too: zeros and ones hide swapped tensors
        for n, p in model.named_parameters():
            if p.dim() == 1: p.normal_(1.0 if "norm.weight" in n.lower() else 0.0, 0.1)
        out = model(**feed, output_hidden_states=True)
    model.save_pretrained(os.path.join(work, "src", name))
    np.savez(os.path.join(work, "ref", name + ".npz"), **outputs_dict(out))
print(json.dumps("ok"))
"""

MAKE_TF = snippet_header("tf") + COMMON + r"""
import tensorflow as tf, transformers
from transformers.modeling_tf_utils import keras
feed = {k: np.array(v, np.int32) for k, v in inputs.items()}
def fresh(cls, changes, seed):
    keras.backend.clear_session()  # the layer names of a fresh process
    tf.random.set_seed(seed)
    model = getattr(transformers, "TF" + cls)(transformers.DistilBertConfig(**config, **changes))
    model(feed)
    return model
for i, (name, (cls, changes)) in enumerate(sources.items()):
    model = fresh(cls, changes, 60 + i)
    for w in model.weights:
        if len(w.shape) == 1:
            w.assign(tf.random.normal(w.shape, mean=1.0 if "gamma" in w.name else 0.0, stddev=0.1))
    model.save_pretrained(os.path.join(work, "src", name))
    np.savez(os.path.join(work, "ref", name + ".npz"), **outputs_dict(model(feed, output_hidden_states=True, training=False)))
    # What TF itself writes for the class: the layout reference of the hf-tf2 outputs.
    fresh(cls, changes, 0).save_pretrained(os.path.join(work, "layout", cls))
print(json.dumps("ok"))
"""

CHECK_TF = snippet_header("tf") + COMMON + r"""
from support.model_checks import back_check, h5_arrays, h5_layout, load_hf_tf, same_array
feed = {k: np.array(v, np.int32) for k, v in inputs.items()}
results = {}
for o in sources:
    model, r = load_hf_tf(o["path"])
    ref = dict(np.load(os.path.join(work, "ref", o["root"] + ".npz")))
    r["diff"] = compare(outputs_dict(model(feed, output_hidden_states=True, training=False)), ref)
    h5 = os.path.join(o["path"], "tf_model.h5")
    if os.path.exists(h5):  # not for sharded outputs
        r["layout"] = h5_layout(h5)
        r["layout_ref"] = h5_layout(os.path.join(work, "layout", r["class"], "tf_model.h5"))
    if o["back_of"]:
        r["back"] = back_check(h5_arrays(os.path.join(work, "src", o["back_of"], "tf_model.h5")),
                               h5_arrays(h5), same_array)
    results[o["name"]] = r
print(json.dumps(results))
"""

CHECK_TORCH = snippet_header("torch") + COMMON + r"""
import torch
from support.model_checks import back_check, load_hf_torch, same_torch, torch_state_dict
feed = {k: torch.tensor(v) for k, v in inputs.items()}
results = {}
for o in sources:
    model, r = load_hf_torch(o["path"])
    ref = dict(np.load(os.path.join(work, "ref", o["root"] + ".npz")))
    with torch.no_grad():
        r["diff"] = compare(outputs_dict(model(**feed, output_hidden_states=True)), ref)
    if o["back_of"]:
        r["back"] = back_check(torch_state_dict(os.path.join(work, "src", o["back_of"])),
                               torch_state_dict(o["path"]), same_torch)
    results[o["name"]] = r
print(json.dumps(results))
"""


def other(convention):
    return "hf-pytorch" if convention == "hf-tf2" else "hf-tf2"


@pytest.fixture(scope="module")
def distilbert(tmp_path_factory):
    work = tmp_path_factory.mktemp("distilbert")
    for sub in ("src", "ref", "out", "layout"):
        (work / sub).mkdir()
    args = (work, json.dumps(CONFIG), json.dumps(INPUTS))
    by_framework = {"pt": {}, "tf": {}}
    for name, source in SOURCES.items():
        by_framework[name[:2]][name] = source
    run_python(MAKE_TORCH, *args, json.dumps(by_framework["pt"]))
    run_python(MAKE_TF, *args, json.dumps(by_framework["tf"]))
    outputs = {"hf-tf2": [], "hf-pytorch": []}
    reports = {}
    for name in SOURCES:
        source = "hf-pytorch" if name.startswith("pt_") else "hf-tf2"
        there = work / "out" / f"{name}__{other(source)}"
        back = work / "out" / f"{name}__back"
        reports[there.name] = convert(work / "src" / name, there, other(source))
        reports[back.name] = convert(there, back, source)
        outputs[other(source)].append({"name": there.name, "path": str(there), "root": name,
                                       "back_of": None})
        outputs[source].append({"name": back.name, "path": str(back), "root": name,
                                "back_of": name})
    for name, target in SHARDED:  # sharded outputs, loaded like the others
        there = work / "out" / f"{name}__{target}__sharded"
        reports[there.name] = convert(work / "src" / name, there, target, "--shard-size", "20KB")
        outputs[target].append({"name": there.name, "path": str(there), "root": name,
                                "back_of": None})
    checks = run_python(CHECK_TF, *args, json.dumps(outputs["hf-tf2"]))
    checks.update(run_python(CHECK_TORCH, *args, json.dumps(outputs["hf-pytorch"])))
    return {"work": work, "checks": checks, "reports": reports}


def test_every_output_loads_without_missing_keys_and_matches_the_source(distilbert):
    assert len(distilbert["checks"]) == 2 * len(SOURCES) + len(SHARDED)
    for name, check in distilbert["checks"].items():
        cls = SOURCES[name.split("__")[0]][0]
        assert check["class"] == cls, name
        # The weightless Dropout after a head is named by a per-process Keras counter (see
        # test_convert_bert.py); nothing else may be missing or unexpected.
        for key, names in check["loading_info"].items():
            if key != "error_msgs":
                assert [k for k in names if not re.fullmatch(r"dropout_\d+", k)] == [], (name, key)
        # The head's output and every hidden state, each within 1e-5 of the source framework.
        assert set(check["diff"]) == HIDDEN | HEAD_OUTPUT[cls], (name, check["diff"])
        for key, value in check["diff"].items():
            assert value is not None and value <= TOL, (name, key, value)


def test_hf_tf2_outputs_have_the_layout_tf_saves(distilbert):
    for name, check in distilbert["checks"].items():
        if "layout" in check:
            assert check["layout"] == check["layout_ref"], name


def test_converting_back_is_bit_exact(distilbert):
    backs = [c for n, c in distilbert["checks"].items() if n.endswith("__back")]
    assert len(backs) == len(SOURCES)
    for check in backs:
        assert check["back"] == {"missing_from_back": [], "bit_exact": True}, check["class"]


def test_sharded_outputs(distilbert):
    out = distilbert["work"] / "out"
    assert (out / "pt_mlm__hf-tf2__sharded" / "tf_model.h5.index.json").is_file()
    assert (out / "tf_cls__hf-pytorch__sharded" / "model.safetensors.index.json").is_file()
    assert "pt_mlm__hf-tf2__sharded" in distilbert["checks"]  # loaded and matched above


def test_conversions_were_verified(distilbert):
    for name, report in distilbert["reports"].items():
        assert report["verify"]["passed"] is True, (name, report["verify"])


def test_layer_names_are_distilberts(distilbert):
    # The converted PyTorch state dict names the modules as DistilBertModel does (the loaders
    # above would also report any other name as unexpected).
    proc = run_tf("inspect", distilbert["work"] / "out" / "tf_base__hf-pytorch", "--json")
    names = {t["name"] for t in json.loads(proc.stdout)["tensors"]}
    for module in ("attention.q_lin", "attention.k_lin", "attention.v_lin", "attention.out_lin",
                   "sa_layer_norm", "ffn.lin1", "ffn.lin2", "output_layer_norm"):
        assert f"transformer.layer.2.{module}.weight" in names, module
    assert not [n for n in names if "token_type" in n or "encoder.layer" in n]


def test_sinusoidal_positions_are_carried_with_a_note(distilbert):
    # Both loaders read the stored table (PyTorch fills it with sinusoids only when it builds a
    # new model), so the table converts like any other; the outputs matched above.
    report = distilbert["reports"]["pt_sin__hf-tf2"]
    assert any("sinusoidal_pos_embds" in n for n in report["notes"]), report["notes"]
    assert not any("sinusoidal" in n for n in distilbert["reports"]["pt_base__hf-tf2"]["notes"])


def test_no_token_types(distilbert, tmp_path):
    # BERT's token-type table is not DistilBERT's: a folder carrying one has it skipped as an
    # unknown tensor, and a position table missing is refused.
    check_missing_and_extra(distilbert["work"] / "src" / "pt_base", tmp_path, "hf-tf2",
                            "distilbert", "embeddings.position_embeddings.weight",
                            "embeddings.token_type_embeddings.weight",
                            "embeddings.position_embeddings.weight")
    # verify's forward pass takes no segment ids for DistilBERT (DistilBertModel has no such input).
    proc = run_tf("forward", distilbert["work"] / "src" / "pt_base", "--tokens", "1,2,3",
                  "--token-types", "0,0,1", check=False)
    assert proc.returncode == 2 and "token types are not an input of distilbert" in proc.stderr


def edited_source(distilbert, tmp_path, name, **changes):
    folder = tmp_path / name
    shutil.copytree(distilbert["work"] / "src" / name, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_config_keys(distilbert, tmp_path):
    # BertConfig's spellings, which DistilBertConfig's attribute_map accepts, are read and
    # written under DistilBERT's keys.
    folder = edited_source(distilbert, tmp_path, "pt_base")
    config = json.loads((folder / "config.json").read_text())
    for bert_key, key in (("hidden_size", "dim"), ("num_hidden_layers", "n_layers"),
                          ("num_attention_heads", "n_heads")):
        config[bert_key] = config.pop(key)
    (folder / "config.json").write_text(json.dumps(config))
    convert(folder, tmp_path / "out", "hf-tf2")
    written = json.loads((tmp_path / "out" / "config.json").read_text())
    assert (written["dim"], written["n_layers"], written["n_heads"], written["hidden_dim"]) == \
        (32, 3, 4, 37)
    assert not {"hidden_size", "num_hidden_layers", "num_attention_heads"} & set(written)
    # n_heads must divide dim; the message names DistilBERT's keys.
    bad = edited_source(distilbert, tmp_path, "pt_cls", n_heads=5)
    proc = run_tf("convert", bad, tmp_path / "bad", "--to", "hf-tf2", check=False)
    assert proc.returncode == 3 and "dim 32 is not a multiple of n_heads 5" in proc.stderr


def test_refuses_what_tf2_cannot_express(distilbert, tmp_path):
    # An activation PyTorch has and TF's activations_tf lacks.
    folder = edited_source(distilbert, tmp_path, "pt_cls", activation="gelu_pytorch_tanh")
    proc = run_tf("convert", folder, tmp_path / "o1", "--to", "hf-tf2", check=False)
    assert proc.returncode == 2 and "activations_tf" in proc.stderr, proc.stderr
    assert not (tmp_path / "o1").exists()
    # An untied vocab_projector: TFDistilBertForMaskedLM always projects on the word table.
    untied = edited_source(distilbert, tmp_path, "pt_mlm", tie_word_embeddings=False)
    run_python(snippet_header("none") + r"""
from safetensors.numpy import load_file, save_file
path = sys.argv[1]
t = load_file(path)
t["vocab_projector.weight"] = t["distilbert.embeddings.word_embeddings.weight"] * 2
save_file(t, path, metadata={"format": "pt"})
print(json.dumps("ok"))
""", untied / "model.safetensors")
    proc = run_tf("convert", untied, tmp_path / "o2", "--to", "hf-tf2", check=False)
    assert proc.returncode == 2 and "vocab_projector.weight is not tied" in proc.stderr
    report = convert(untied, tmp_path / "o3", "hf-pytorch")  # PyTorch holds it
    assert report["verify"]["passed"] is True


def test_verify_forward_embeddings_are_pytorchs(distilbert):
    # Word + position rows and the LayerNorm, no token types: PyTorch's hidden_states[0].
    import numpy as np
    ref = np.load(distilbert["work"] / "ref" / "pt_mlm.npz")
    ids = INPUTS["input_ids"][0]  # fully attended: the stage equals PyTorch's row for row
    doc = json.loads(run_tf("forward", distilbert["work"] / "src" / "pt_mlm", "--json",
                            "--tokens", ",".join(map(str, ids))).stdout)
    assert doc["model"]["family"] == "distilbert"
    stages = {s["name"]: np.array(s["values"][0], np.float64) for s in doc["stages"]}
    assert np.max(np.abs(stages["embeddings"] - ref["hidden_0"][0])) <= TOL
    assert np.max(np.abs(stages["layer 2"] - ref["hidden_3"][0])) <= TOL
    assert np.max(np.abs(stages["mlm logits"] - ref["logits"][0])) <= TOL


def test_verify_reads_every_head_in_both_conventions(distilbert):
    # Bit-identical weights would decide without a forward pass: --always-forward runs verify's
    # reading of the TF2 names of every head against the PyTorch source, stage by stage.
    heads = {"pt_mlm": ["mlm logits"], "pt_cls": ["classifier logits"],
             "pt_qa": ["qa start logits", "qa end logits"], "pt_sin": []}
    layers = [f"layer {i}{p}" for i in range(CONFIG["n_layers"]) for p in (" attention", "")]
    for name, expected in heads.items():
        proc = run_tf("verify", distilbert["work"] / "src" / name,
                      distilbert["work"] / "out" / f"{name}__hf-tf2", "--always-forward", "--json")
        report = json.loads(proc.stdout)
        assert report["passed"] is True, (name, report["first_failure"])
        assert [s["name"] for s in report["stages"]] == ["embeddings"] + layers + expected, name


BREAK_H5 = snippet_header("none") + r"""
import h5py, numpy as np
path, edit = sys.argv[1], sys.argv[2]
with h5py.File(path, "r+") as f:
    names = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    if edit == "transpose":  # layer 2's q_lin kernel stored [out, in]
        (k,) = [n for n in names if "layer_._2/attention/q_lin/kernel" in n]
        f[k][...] = np.ascontiguousarray(f[k][()].T)
    else:  # layers 0 and 1 swapped
        for a in [n for n in names if "/layer_._0/" in n]:
            b = a.replace("/layer_._0/", "/layer_._1/")
            x, y = f[a][()], f[b][()]
            f[a][...], f[b][...] = y, x
print(json.dumps("ok"))
"""


@pytest.mark.parametrize("edit,stage", [("swap", "layer 0 attention"),
                                        ("transpose", "layer 2 attention")])
def test_verify_catches_a_broken_tf2_conversion_at_its_stage(distilbert, tmp_path, edit, stage):
    broken = tmp_path / "broken"
    shutil.copytree(distilbert["work"] / "out" / "pt_cls__hf-tf2", broken)
    run_python(BREAK_H5, broken / "tf_model.h5", edit)
    proc = run_tf("verify", distilbert["work"] / "src" / "pt_cls", broken, "--json", check=False)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["first_failure"]["stage"] == stage


def test_dry_run_dtype_shards_and_skipped(distilbert, tmp_path):
    check_dry_run_and_cast_shards(distilbert["work"] / "src" / "pt_cls", tmp_path, "hf-tf2",
                                  "DistilBertForSequenceClassification")
    # From TF2 too, to bf16.
    report = convert(distilbert["work"] / "src" / "tf_mlm", tmp_path / "bf16", "hf-pytorch",
                     "--dtype", "bf16")
    assert report["verify"]["passed"] is True
    # TF2's second copy of the embeddings under vocab_projector is reported skipped as tied.
    skipped = distilbert["reports"]["tf_mlm__hf-pytorch"]["skipped"]
    assert {s["name"].split("/", 1)[0] for s in skipped} == {"vocab_projector"}, skipped
    assert len(skipped) == 4 and all("tied" in s["reason"] for s in skipped), skipped
