"""ALBERT model conversion between hf-pytorch, hf-tf2 and google-tf1, proven with the real loaders
(issue 17).

Sources are written by real code:
* transformers PyTorch: AlbertForPreTraining (MLM + sentence order), AlbertForMaskedLM,
  AlbertForSequenceClassification (3 labels) with config "a" (embedding 16 != hidden 32, three
  layers sharing one group of weights), and AlbertModel with config "b" (four layers in two
  groups);
* transformers TF: TFAlbertForPreTraining save_pretrained;
* TF1 Savers under Google's names (tests/python/support/google_albert_tf1.py): a pretraining
  checkpoint with Adam slots and a global_step, and a classifier_utils one.

Every source goes to every other convention and back; one TensorFlow and one PyTorch process then
load every output (transformers' PyTorch and TF classes named by config.json; a TF1 Saver restore
into Google's graph; transformers' load_tf_weights_in_albert) and compare the last hidden state
and every head's logits with the source model's, within 1e-5.
"""
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import run_python, run_tf
from support.convert_harness import (check_missing_and_extra, convert_all, make_torch_sources,
                                     run_checks, snippet_header, source_convention, work_folder)

TOL = 1e-5
CONVENTIONS = ("hf-pytorch", "hf-tf2", "google-tf1")
CONFIGS = {
    "a": dict(vocab_size=120, embedding_size=16, hidden_size=32, num_hidden_layers=3,
              num_hidden_groups=1, num_attention_heads=4, intermediate_size=37,
              max_position_embeddings=40, type_vocab_size=2),
    "b": dict(vocab_size=120, embedding_size=24, hidden_size=48, num_hidden_layers=4,
              num_hidden_groups=2, num_attention_heads=3, intermediate_size=40,
              max_position_embeddings=40, type_vocab_size=2),
}
INPUTS = {
    "input_ids": [[2, 7, 100, 23, 119, 4, 3, 11, 12], [2, 45, 3, 3, 9, 88, 3, 0, 0]],
    "attention_mask": [[1] * 9, [1, 1, 1, 1, 1, 1, 1, 0, 0]],
    "token_type_ids": [[0, 0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1, 0, 0]],
}
TORCH_SOURCES = {
    "pt_pre": ("AlbertForPreTraining", "a"),
    "pt_mlm": ("AlbertForMaskedLM", "a"),
    "pt_cls": ("AlbertForSequenceClassification", "a"),
    "pt_base": ("AlbertModel", "b"),
}
EXPECTED_CLASS = {"pt_pre": "AlbertForPreTraining", "pt_mlm": "AlbertForMaskedLM",
                  "pt_cls": "AlbertForSequenceClassification", "pt_base": "AlbertModel",
                  "g_pre": "AlbertForPreTraining", "g_cls": "AlbertForSequenceClassification",
                  "tf2_pre": "AlbertForPreTraining"}
HEADS_OF = {"AlbertForPreTraining": {"prediction_logits", "seq_relationship_logits"},
            "AlbertForMaskedLM": {"prediction_logits"},
            "AlbertForSequenceClassification": {"logits"}, "AlbertModel": {"pooler_output"}}
EXTRAS = [
    ("g_pre", "google-tf1", [], "same"),
    ("pt_pre", "hf-tf2", ["--shard-size", "20KB"], "sharded"),
    ("pt_pre", "google-tf1", ["--shard-size", "20KB"], "sharded"),
    ("g_pre", "hf-pytorch", ["--format", "pytorch"], "bin"),
]
SPIECE = b"\x0a\x05tiny sentencepiece model stand-in\x00\xff"

COMMON = r"""
import numpy as np
from support.model_checks import compare, to_numpy
def outputs_dict(out, model=None):
    d = {}
    hs = getattr(out, "hidden_states", None)
    if hs is not None: d["last_hidden_state"] = hs[-1]
    # The pooler is part of most classes but only AlbertModel returns its output.
    base = getattr(model, "albert", None)
    pooler = getattr(base, "pooler", None)
    if pooler is not None and hs is not None and getattr(out, "pooler_output", None) is None:
        pooled = pooler(hs[-1][:, 0])
        act = getattr(base, "pooler_activation", None)  # PyTorch; TF's Dense has its tanh
        d["pooler_output"] = act(pooled) if act is not None else pooled
    for k, name in (("last_hidden_state", None), ("pooler_output", None), ("prediction_logits", None),
                    ("sop_logits", "seq_relationship_logits"), ("logits", None)):
        v = getattr(out, k, None)
        if v is not None: d[name or k] = v
    if type(model).__name__.endswith("ForMaskedLM") and "logits" in d:
        d["prediction_logits"] = d.pop("logits")
    return to_numpy(d)
"""

MAKE_TF_SOURCES = snippet_header("tf") + COMMON + r"""
from transformers import AlbertConfig
from support import google_albert_tf1
from support.model_checks import fresh_tf_model, randomize_tf_vectors, save_tf_layouts
work, configs, inputs, layouts = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
feed = {k: np.array(v, np.int32) for k, v in inputs.items()}
out = {}
google = dict(configs["a"], hidden_act="gelu", inner_group_num=1, down_scale_factor=1,
              hidden_dropout_prob=0, attention_probs_dropout_prob=0, initializer_range=0.02)
for name, heads, extra in (("g_pre", ("pooler", "mlm", "nsp"), dict(adam_slots=True, global_step=123)),
                           ("g_cls", ("pooler", "classifier"), dict(global_step=7))):
    folder = os.path.join(work, "src", name)
    res = google_albert_tf1.run(google, feed, heads=heads, num_labels=3, save_to=folder, seed=len(name), **extra)
    np.savez(os.path.join(work, "ref", name + ".npz"), **res)
    out[name] = folder
model = fresh_tf_model("AlbertForPreTraining", AlbertConfig(**configs["a"]), feed)
randomize_tf_vectors(model)
# TFAlbertMLMHead never applies `bias` (the logits add decoder/bias); as in every file ported from
# PyTorch, it holds the same values.
weights = {w.name: w for w in model.weights}
bias, = [w for n, w in weights.items() if n.endswith("predictions/bias:0")]
bias.assign([w for n, w in weights.items() if n.endswith("predictions/decoder/bias:0")][0])
folder = os.path.join(work, "src", "tf2_pre")
model.save_pretrained(folder)
np.savez(os.path.join(work, "ref", "tf2_pre.npz"), **outputs_dict(model(feed, output_hidden_states=True), model))
out["tf2_pre"] = folder
save_tf_layouts(work, configs, layouts, AlbertConfig, feed)
print(json.dumps(out))
"""

CHECK_TF = snippet_header("tf") + COMMON + r"""
from support import google_albert_tf1
from support.model_checks import tf_checks
def run_google(o, prefix, names, feed):
    heads = ["pooler"] if "bert/pooler/dense/kernel" in names else []
    heads += [h for h, v in (("mlm", "cls/predictions/output_bias"), ("nsp", "cls/seq_relationship/output_bias"),
                             ("classifier", "output_bias")) if v in names]
    return heads, google_albert_tf1.run(o["path"], feed, heads=heads, num_labels=names.get("output_bias", [2])[0],
                                        restore_from=prefix)
print(json.dumps(tf_checks(sys.argv[1:], outputs_dict, google_albert_tf1.CHECKPOINT, run_google,
                            ("g_pre", "g_cls"))))
"""

CHECK_TORCH = snippet_header("torch") + COMMON + r"""
import torch, transformers
from transformers import AlbertConfig
from transformers.models.albert.modeling_albert import load_tf_weights_in_albert
from support.model_checks import (architecture, imported_by_transformers, torch_checks,
                                  torch_state_dict, unequal_to_ours)
work = sys.argv[1]
# transformers' TF1 importer on a google-tf1 folder against our own hf-pytorch conversion of it.
def import_check(google, ours, root, feed):
    arch = architecture(ours)
    cls = "AlbertForPreTraining" if arch == "AlbertModel" else arch  # the importer wants .albert
    cfg = AlbertConfig.from_json_file(os.path.join(ours, "config.json"))
    model = imported_by_transformers(getattr(transformers, cls)(cfg), cfg, load_tf_weights_in_albert, google)
    mine = torch_state_dict(ours)
    with torch.no_grad():
        out = outputs_dict(model(**feed, output_hidden_states=True), model)
    keep = {"last_hidden_state"} | ({"prediction_logits"} if "predictions.bias" in mine else set()) | \
           ({"seq_relationship_logits"} if "sop_classifier.classifier.bias" in mine else set()) | \
           ({"logits"} if "classifier.bias" in mine else set())
    ref = dict(np.load(os.path.join(work, "ref", root + ".npz")))
    return google, {"unequal": unequal_to_ours(model, ours, "albert." if arch == "AlbertModel" else ""),
                    "diff": compare({k: v for k, v in out.items() if k in keep}, ref)}
print(json.dumps(torch_checks(sys.argv[1:], outputs_dict, import_check)))
"""


@pytest.fixture(scope="module")
def albert(tmp_path_factory):
    work = work_folder(tmp_path_factory, "albert")
    sources = make_torch_sources(work, COMMON, "AlbertConfig", 100, CONFIGS, INPUTS, TORCH_SOURCES)
    config_of = {n: c for n, (_, c) in TORCH_SOURCES.items()}
    config_of.update(g_pre="a", g_cls="a", tf2_pre="a")
    layouts = {f"{cls}_{config_of[n]}": (cls, config_of[n]) for n, cls in EXPECTED_CLASS.items()}
    sources.update(run_python(MAKE_TF_SOURCES, work, json.dumps(CONFIGS), json.dumps(INPUTS),
                              json.dumps(layouts)))
    for name, folder in sources.items():  # the sentencepiece model rides along
        (Path(folder) / ("30k-clean.model" if name.startswith("g_") else "spiece.model")
         ).write_bytes(SPIECE)
    outputs = convert_all({n: (f, source_convention(n)) for n, f in sources.items()}, CONVENTIONS,
                          work / "out", EXTRAS)
    for o in outputs:
        o["layout_key"] = f"{EXPECTED_CLASS[o['root']]}_{config_of[o['root']]}"
    by_name = {o["name"]: o for o in outputs}
    # (google-tf1 folder, our hf-pytorch conversion of it, the source whose outputs it has)
    importer_pairs = [(sources[g], by_name[f"{g}__hf-pytorch"]["path"], g) for g in ("g_pre", "g_cls")]
    importer_pairs += [(by_name[f"{n}__google-tf1"]["path"], by_name[f"{n}__google-tf1__back"]["path"], n)
                       for n in TORCH_SOURCES]
    checks, importer = run_checks(work, outputs, INPUTS, sources, CHECK_TF, CHECK_TORCH,
                                  importer_pairs)
    return {"work": work, "sources": sources, "outputs": outputs, "checks": checks,
            "importer": importer, "importer_pairs": importer_pairs,
            "by_name": by_name}


def outputs_of(albert, convention):
    found = [o for o in albert["outputs"] if o["convention"] == convention]
    assert found
    return found


def assert_outputs_match(name, check, expected_heads=()):
    diff = check["diff"]
    assert "last_hidden_state" in diff, (name, diff)
    for key, value in diff.items():
        assert value is not None, f"{name}: output {key} has no reference"
        assert value <= TOL, (name, key, value)
    assert set(expected_heads) <= set(diff), (name, diff)


def test_every_ordered_pair_was_converted(albert):
    pairs = {(o["report"]["source"]["convention"], o["convention"]) for o in albert["outputs"]
             if o.get("flags") is None}
    assert pairs == {(a, b) for a in CONVENTIONS for b in CONVENTIONS if a != b}


def test_hf_pytorch_outputs_load_without_missing_keys_and_match(albert):
    for o in outputs_of(albert, "hf-pytorch"):
        c = albert["checks"][o["name"]]
        assert c["class"] == EXPECTED_CLASS[o["root"]], o["name"]
        info = c["loading_info"]
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and \
            info["mismatched_keys"] == [], (o["name"], info)
        assert_outputs_match(o["name"], c, HEADS_OF[c["class"]])


def test_hf_tf2_outputs_load_without_from_pt_and_match(albert):
    for o in outputs_of(albert, "hf-tf2"):
        c = albert["checks"][o["name"]]
        assert c["class"] == EXPECTED_CLASS[o["root"]], o["name"]
        # The classifier's weightless Dropout is named by a per-process Keras counter: a loading
        # process that built other models first calls it otherwise (files TF saves itself
        # behave the same; the layout test compares with one). Nothing else may differ.
        info = {k: [n for n in v if not re.fullmatch(r"dropout_\d+", n)]
                for k, v in c["loading_info"].items()}
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (o["name"], info)
        assert_outputs_match(o["name"], c, HEADS_OF[c["class"]] - {"pooler_output"})


def test_hf_tf2_outputs_have_the_layout_tf_saves(albert):
    """The layers, attributes and weights TF writes, in TF's order but for one place: TF lists
    the MLM head's never-applied `bias` first, tensorferry writes it (a copy of decoder/bias)
    after the head's parameters (transformers' loader matches weights by name)."""
    for o in outputs_of(albert, "hf-tf2"):
        if o.get("flags"):
            continue
        got, ref = (albert["checks"][o["name"]][k] for k in ("layout", "layout_ref"))
        assert (got["layers"], got["attrs"]) == (ref["layers"], ref["attrs"]), o["name"]
        for layer, weights in ref["weights"].items():
            if layer == "predictions":
                assert sorted(got["weights"][layer]) == sorted(weights), o["name"]
                moved = [w for w in weights if w[0].endswith("/predictions/bias:0")]
                assert [w for w in got["weights"][layer] if w not in moved] == \
                    [w for w in weights if w not in moved], o["name"]
            else:
                assert got["weights"][layer] == weights, (o["name"], layer)


def test_google_outputs_restore_in_google_graph_and_match(albert):
    for o in outputs_of(albert, "google-tf1"):
        c = albert["checks"][o["name"]]
        assert c["checkpoint_prefix"] == "model.ckpt-best", o["name"]
        assert c["global_step"] is not None, o["name"]
        assert_outputs_match(o["name"], c)
        files = {p.name for p in Path(o["path"]).iterdir()}
        assert {"albert_config.json", "30k-clean.model", "checkpoint",
                "model.ckpt-best.index"} <= files, (o["name"], files)


def test_google_outputs_have_the_heads_of_the_source(albert):
    heads = {o["name"]: set(albert["checks"][o["name"]]["heads"])
             for o in outputs_of(albert, "google-tf1")}
    assert heads["pt_pre__google-tf1"] == {"pooler", "mlm", "nsp"}
    assert heads["pt_mlm__google-tf1"] == {"mlm"}
    assert heads["pt_cls__google-tf1"] == {"pooler", "classifier"}
    assert heads["pt_base__google-tf1"] == {"pooler"}


def test_factorized_embedding_and_shared_layers(albert):
    """E != H: the word table is [V, E] and embedding_hidden_mapping_in maps E to H; the three
    layers of config "a" read one group of weights, the four of "b" two groups."""
    rows = {t["target"]: t for t in albert["by_name"]["pt_pre__google-tf1"]["report"]["tensors"]}
    assert rows["bert/embeddings/word_embeddings"]["target_shape"] == [120, 16]
    mapping = rows["bert/encoder/embedding_hidden_mapping_in/kernel"]
    assert (mapping["source"], mapping["step"], mapping["target_shape"]) == (
        "albert.encoder.embedding_hidden_mapping_in.weight", "transpose", [16, 32])
    assert rows["cls/predictions/transform/dense/kernel"]["target_shape"] == [32, 16]
    groups = lambda name: sorted({t.split("/")[3] for t in albert["checks"][name]["variables"]
                                  if t.startswith("bert/encoder/transformer/")})
    assert groups("pt_pre__google-tf1") == ["group_0"]
    assert groups("pt_base__google-tf1") == ["group_0", "group_1"]
    assert len(rows) == 5 + 2 + 16 + 2 + 2 + 5 + 1  # embeddings, mapping, one block, heads, step


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_converting_back_is_bit_exact(albert, convention):
    backs = [o for o in outputs_of(albert, convention) if o["back_of"]]
    assert backs
    for o in backs:
        c = albert["checks"][o["name"]]
        assert c["bit_exact"] is True, o["name"]
        forward = albert["by_name"][o["name"][: -len("__back")]]["report"]
        skipped = {s["name"] for s in forward["skipped"]}
        missing = set(c["missing_from_back"]) - skipped - {"global_step"}
        assert not missing, (o["name"], missing)


def test_transformers_importer_reads_our_google_outputs_bit_identically(albert):
    """load_tf_weights_in_albert on a google-tf1 folder gives, tensor for tensor, what our own
    conversion of that folder to hf-pytorch holds, and the source's outputs."""
    assert len(albert["importer"]) == len(albert["importer_pairs"]) == 6
    for google, result in albert["importer"].items():
        assert result["unequal"] == [], (google, result)
        for key, value in result["diff"].items():
            assert value is not None and value <= TOL, (google, key, value)
        assert len(result["diff"]) >= 2 or "pt_base" in google, (google, result)


def test_training_state_is_skipped_with_a_line(albert):
    report = albert["by_name"]["g_pre__hf-pytorch"]["report"]
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    slots = [n for n in reasons if n.endswith(("/adam_m", "/adam_v"))]
    assert len(slots) == 2 * (5 + 2 + 16 + 2 + 5 + 2)
    assert all(reasons[n].startswith("optimizer slot") for n in slots)
    assert reasons["global_step"] == "training counter"


def test_google_to_google_keeps_global_step(albert):
    assert albert["checks"]["g_pre__google-tf1__same"]["global_step"] == 123
    assert albert["checks"]["pt_pre__google-tf1"]["global_step"] == 0


def test_sharded_outputs(albert):
    files = lambda n: sorted(p.name for p in Path(albert["by_name"][n]["path"]).iterdir())
    assert "tf_model.h5.index.json" in files("pt_pre__hf-tf2__sharded")
    assert sum(f.startswith("model.ckpt-best.data-") for f in files("pt_pre__google-tf1__sharded")) > 1
    assert "pytorch_model.bin" in files("g_pre__hf-pytorch__bin")
    for n in ("pt_pre__hf-tf2__sharded", "pt_pre__google-tf1__sharded", "g_pre__hf-pytorch__bin"):
        assert_outputs_match(n, albert["checks"][n])


def test_dry_run_plan(albert, tmp_path):
    out = tmp_path / "never"
    plan = json.loads(run_tf("convert", albert["sources"]["pt_base"], out, "--to", "google-tf1",
                             "--dry-run", "--json").stdout)
    assert not out.exists()
    assert plan["hf_class"] == "AlbertModel"
    rows = {t["target"]: t for t in plan["tensors"]}
    q = rows["bert/encoder/transformer/group_1/inner_group_0/attention_1/self/query/kernel"]
    assert (q["source"], q["step"], q["matrix"]) == (
        "encoder.albert_layer_groups.1.albert_layers.0.attention.query.weight", "transpose",
        [48, 48])
    assert plan["files"][0]["target"] == "albert_config.json"


def test_dtype_cast(albert, tmp_path):
    report = json.loads(run_tf("convert", albert["sources"]["pt_pre"], tmp_path / "o", "--to",
                               "google-tf1", "--dtype", "f16", "--json").stdout)
    assert {t["target_dtype"] for t in report["tensors"] if t["target"] != "global_step"} == {"f16"}
    assert report["verify"]["passed"] is True


def test_missing_and_extra_tensors(albert, tmp_path):
    check_missing_and_extra(albert["sources"]["pt_pre"], tmp_path, "google-tf1", "albert",
                            missing="albert.encoder.embedding_hidden_mapping_in.bias",
                            extra="albert.encoder.albert_layer_groups.0.rotary",
                            extra_copy_of="albert.pooler.bias")


def test_refuses_what_google_cannot_express(albert, tmp_path):
    folder = tmp_path / "eps"
    shutil.copytree(albert["sources"]["pt_base"], folder)
    config = json.loads((folder / "config.json").read_text())
    config["inner_group_num"] = 2
    (folder / "config.json").write_text(json.dumps(config))
    proc = run_tf("convert", folder, tmp_path / "o", "--to", "google-tf1", check=False)
    assert proc.returncode in (2, 3), proc.stderr
    assert "inner_group_num" in proc.stderr
    assert not (tmp_path / "o").exists()
