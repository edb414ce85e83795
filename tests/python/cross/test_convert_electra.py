"""ELECTRA model conversion between hf-pytorch, hf-tf2 and google-tf1, proven with the real loaders
(issue 17).

Sources are written by real code:
* transformers PyTorch: ElectraForPreTraining (the discriminator; embedding 24 != hidden 32, so
  with embeddings_project), ElectraForMaskedLM (a generator: hidden 8, one layer),
  ElectraForSequenceClassification (3 labels) and ElectraModel with embedding = hidden (no
  projection);
* transformers TF: TFElectraForPreTraining save_pretrained;
* a TF1 Saver under Google's names (tests/python/support/google_electra_tf1.py): one pre-training
  checkpoint holding the discriminator and a smaller generator sharing electra/embeddings, with
  Adam slots and a global_step, and its electra_hparams.json.

Google's checkpoint becomes two HF folders: the discriminator (the default) and the generator
(--class ElectraForMaskedLM), each loaded by transformers and compared with Google's graph. Every
HF source goes to every other convention it can and back; the outputs are loaded by transformers'
PyTorch and TF classes, Google's graph (a TF1 Saver restore) and transformers'
load_tf_weights_in_electra, and agree with the source within 1e-5.
"""
import json
from pathlib import Path

import pytest

from conftest import run_python, run_tf
from support.convert_harness import (convert, convert_all, make_torch_sources, run_checks,
                                     snippet_header, source_convention, work_folder)

TOL = 1e-5
CONVENTIONS = ("hf-pytorch", "hf-tf2", "google-tf1")
BASE = dict(vocab_size=90, max_position_embeddings=40, type_vocab_size=2)
CONFIGS = {
    "a": dict(BASE, embedding_size=24, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=4, intermediate_size=37),
    # run_pretraining's generator of "a" with generator_hidden_size 0.25, generator_layers 0.5
    "gen": dict(BASE, embedding_size=24, hidden_size=8, num_hidden_layers=1,
                num_attention_heads=1, intermediate_size=32),
    "b": dict(BASE, embedding_size=32, hidden_size=32, num_hidden_layers=2,
              num_attention_heads=4, intermediate_size=37),
}
INPUTS = {
    "input_ids": [[2, 7, 60, 23, 89, 4, 3, 11, 12], [2, 45, 3, 3, 9, 88, 3, 0, 0]],
    "attention_mask": [[1] * 9, [1, 1, 1, 1, 1, 1, 1, 0, 0]],
    "token_type_ids": [[0, 0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1, 1, 0, 0]],
}
TORCH_SOURCES = {
    "pt_disc": ("ElectraForPreTraining", "a"),
    "pt_gen": ("ElectraForMaskedLM", "gen"),
    "pt_cls": ("ElectraForSequenceClassification", "a"),
    "pt_base": ("ElectraModel", "b"),
}
HEADS_OF = {"ElectraForPreTraining": {"last_hidden_state", "discriminator_logits"},
            "ElectraForMaskedLM": {"generator_last_hidden_state", "generator_logits"},
            "ElectraForSequenceClassification": {"last_hidden_state", "logits"},
            "ElectraModel": {"last_hidden_state"}}
VOCAB = "".join(f"[unused{i}]\n" for i in range(90))

COMMON = r"""
import numpy as np
from support.model_checks import compare, to_numpy
def outputs_dict(out, model=None):
    # A generator's outputs are named apart: Google's checkpoint holds both networks.
    gen = type(model).__name__.endswith("ForMaskedLM")
    prefix = "generator_" if gen else ""
    d = {prefix + "last_hidden_state": out.hidden_states[-1]}
    if getattr(out, "logits", None) is not None:
        d["generator_logits" if gen else "discriminator_logits" if type(model).__name__.endswith("ForPreTraining") else "logits"] = out.logits
    return to_numpy(d)
"""

MAKE_TF_SOURCES = snippet_header("tf") + COMMON + r"""
from transformers import ElectraConfig
from support import google_electra_tf1
from support.model_checks import fresh_tf_model, randomize_tf_vectors, save_tf_layouts
work, configs, inputs, layouts = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
feed = {k: np.array(v, np.int32) for k, v in inputs.items()}
out = {}
folder = os.path.join(work, "src", "g_pre")
hp = google_electra_tf1.hparams(configs["a"], 0.25, 0.5)
res = google_electra_tf1.run(hp, feed, save_to=folder, seed=3, adam_slots=True, global_step=77)
np.savez(os.path.join(work, "ref", "g_pre.npz"), **res)
out["g_pre"] = folder
model = fresh_tf_model("ElectraForPreTraining", ElectraConfig(**configs["a"]), feed)
randomize_tf_vectors(model)
folder = os.path.join(work, "src", "tf2_disc")
model.save_pretrained(folder)
np.savez(os.path.join(work, "ref", "tf2_disc.npz"), **outputs_dict(model(feed, output_hidden_states=True), model))
out["tf2_disc"] = folder
save_tf_layouts(work, configs, layouts, ElectraConfig, feed)
print(json.dumps(out))
"""

CHECK_TF = snippet_header("tf") + COMMON + r"""
from support import google_electra_tf1
from support.model_checks import tf_checks
def run_google(o, prefix, names, feed):
    heads = ["discriminator"] if "discriminator_predictions/dense/kernel" in names else []
    return heads, google_electra_tf1.run(o["path"], feed, heads=heads, restore_from=prefix)
print(json.dumps(tf_checks(sys.argv[1:], outputs_dict, google_electra_tf1.CHECKPOINT, run_google,
                            ("g_pre",))))
"""

CHECK_TORCH = snippet_header("torch") + COMMON + r"""
import torch, transformers
from transformers import ElectraConfig
from transformers.models.electra.modeling_electra import load_tf_weights_in_electra
from support.model_checks import architecture, imported_by_transformers, torch_checks, unequal_to_ours
work = sys.argv[1]
# transformers' TF1 importer on a google-tf1 folder against our own hf-pytorch conversion of it.
def import_check(google, ours, root, feed):
    arch = architecture(ours)
    cls = "ElectraForPreTraining" if arch == "ElectraModel" else arch  # the importer wants .electra
    cfg = ElectraConfig.from_json_file(os.path.join(ours, "config.json"))
    model = imported_by_transformers(getattr(transformers, cls)(cfg), cfg, load_tf_weights_in_electra, google,
                                     "generator" if arch == "ElectraForMaskedLM" else "discriminator")
    with torch.no_grad():
        out = outputs_dict(model(**feed, output_hidden_states=True), model)
    if arch == "ElectraModel": out.pop("discriminator_logits")
    ref = dict(np.load(os.path.join(work, "ref", root + ".npz")))
    return ours, {"unequal": unequal_to_ours(model, ours, "electra." if arch == "ElectraModel" else ""),
                  "diff": compare(out, ref)}
print(json.dumps(torch_checks(sys.argv[1:], outputs_dict, import_check)))
"""


def add_output(outputs, src, name, target, *flags, root=None, back_of=None):
    out = Path(src).parent.parent / "out" / name
    report = convert(src, out, target, *flags)
    outputs.append({"name": name, "path": str(out), "convention": target, "root": root,
                    "back_of": back_of, "flags": list(flags), "report": report})
    return str(out)


@pytest.fixture(scope="module")
def electra(tmp_path_factory):
    work = work_folder(tmp_path_factory, "electra")
    sources = make_torch_sources(work, COMMON, "ElectraConfig", 200, CONFIGS, INPUTS, TORCH_SOURCES)
    layouts = {f"{cls}_{cfg}": (cls, cfg) for cls, cfg in TORCH_SOURCES.values()}
    sources.update(run_python(MAKE_TF_SOURCES, work, json.dumps(CONFIGS), json.dumps(INPUTS),
                              json.dumps(layouts)))
    for folder in sources.values():
        (Path(folder) / "vocab.txt").write_text(VOCAB)
    # Every convention and back for the discriminator classes; the generator and the classifier
    # have no google-tf1 form of their own (checked below) and go between the HF conventions.
    outputs = convert_all({n: (sources[n], source_convention(n))
                           for n in ("pt_disc", "pt_base", "tf2_disc")}, CONVENTIONS, work / "out")
    for n in ("pt_gen", "pt_cls"):
        tf2 = add_output(outputs, sources[n], f"{n}__hf-tf2", "hf-tf2", root=n)
        add_output(outputs, tf2, f"{n}__hf-tf2__back", "hf-pytorch", root=n, back_of=n)
    # Google's one checkpoint, two HF folders.
    disc = add_output(outputs, sources["g_pre"], "g_pre__hf-pytorch", "hf-pytorch", root="g_pre")
    add_output(outputs, disc, "g_pre__hf-pytorch__back", "google-tf1", root="g_pre", back_of="g_pre")
    add_output(outputs, sources["g_pre"], "g_pre__hf-tf2", "hf-tf2", root="g_pre")
    for target in ("hf-pytorch", "hf-tf2"):
        add_output(outputs, sources["g_pre"], f"g_pre__{target}__generator", target,
                   "--class", "ElectraForMaskedLM", root="g_pre")
    for o in outputs:
        o["root"] = o["root"] or next(n for n in sources if o["name"].startswith(n + "__"))
        if o["convention"] == "hf-tf2" and o["root"] in TORCH_SOURCES:
            o["layout_key"] = "{}_{}".format(*TORCH_SOURCES[o["root"]])
    by_name = {o["name"]: o for o in outputs}
    importer_pairs = [(sources["g_pre"], by_name["g_pre__hf-pytorch"]["path"], "g_pre"),
                      (sources["g_pre"], by_name["g_pre__hf-pytorch__generator"]["path"], "g_pre")]
    importer_pairs += [(by_name[f"{n}__google-tf1"]["path"],
                        by_name[f"{n}__google-tf1__back"]["path"], n) for n in ("pt_disc", "pt_base")]
    checks, importer = run_checks(work, outputs, INPUTS, sources, CHECK_TF, CHECK_TORCH,
                                  importer_pairs)
    return {"work": work, "sources": sources, "outputs": outputs, "checks": checks,
            "importer": importer, "by_name": by_name}


def outputs_of(electra, convention):
    found = [o for o in electra["outputs"] if o["convention"] == convention]
    assert found
    return found


def assert_outputs_match(name, check, expected=()):
    diff = check["diff"]
    assert {"last_hidden_state", "generator_last_hidden_state"} & set(diff), (name, diff)
    for key, value in diff.items():
        assert value is not None, f"{name}: output {key} has no reference"
        assert value <= TOL, (name, key, value)
    assert set(expected) <= set(diff), (name, diff)


def test_hf_outputs_load_without_missing_keys_and_match(electra):
    for convention in ("hf-pytorch", "hf-tf2"):
        for o in outputs_of(electra, convention):
            c = electra["checks"][o["name"]]
            info = c["loading_info"]
            assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (o["name"], info)
            if convention == "hf-pytorch":
                assert info["mismatched_keys"] == [], (o["name"], info)
            assert_outputs_match(o["name"], c, HEADS_OF[c["class"]])


def test_hf_tf2_outputs_have_the_layout_tf_saves(electra):
    checked = 0
    for o in outputs_of(electra, "hf-tf2"):
        c = electra["checks"][o["name"]]
        if "layout" in c:
            assert c["layout"] == c["layout_ref"], o["name"]
            checked += 1
    assert checked >= 4


def test_google_checkpoint_becomes_discriminator_and_generator(electra):
    """One Google checkpoint, two HF folders: the discriminator by default, the smaller
    generator with --class ElectraForMaskedLM; each loads and computes Google's outputs."""
    checks = electra["checks"]
    for target in ("hf-pytorch", "hf-tf2"):
        disc, gen = checks[f"g_pre__{target}"], checks[f"g_pre__{target}__generator"]
        assert disc["class"] == "ElectraForPreTraining" and gen["class"] == "ElectraForMaskedLM"
        assert set(disc["diff"]) == {"last_hidden_state", "discriminator_logits"}, disc
        assert set(gen["diff"]) == {"generator_last_hidden_state", "generator_logits"}, gen
    config = lambda n: json.loads(
        Path(electra["by_name"][n]["path"], "config.json").read_text())
    disc, gen = config("g_pre__hf-pytorch"), config("g_pre__hf-pytorch__generator")
    assert (disc["hidden_size"], disc["num_hidden_layers"], disc["embedding_size"]) == (32, 2, 24)
    assert (gen["hidden_size"], gen["num_hidden_layers"], gen["num_attention_heads"],
            gen["intermediate_size"], gen["embedding_size"]) == (8, 1, 1, 32, 24)
    # Each report names the other network's tensors as left for the other conversion.
    for name, other in (("g_pre__hf-pytorch", "generator/"),
                        ("g_pre__hf-pytorch__generator", "electra/encoder/")):
        skipped = {s["name"]: s["reason"] for s in electra["by_name"][name]["report"]["skipped"]}
        theirs = [n for n in skipped if n.startswith(other) and "adam" not in n]
        assert theirs, name
        assert all("ElectraForMaskedLM" in skipped[n] or "discriminator" in skipped[n]
                   for n in theirs), {n: skipped[n] for n in theirs}


def test_embedding_projection_only_when_widths_differ(electra):
    variables = lambda n: set(electra["checks"][n]["variables"])
    assert {"electra/embeddings_project/kernel", "electra/embeddings_project/bias"} <= \
        variables("pt_disc__google-tf1")
    assert not any("embeddings_project" in v for v in variables("pt_base__google-tf1"))
    rows = {t["target"]: t for t in electra["by_name"]["pt_disc__google-tf1"]["report"]["tensors"]}
    project = rows["electra/embeddings_project/kernel"]
    assert (project["source"], project["step"], project["target_shape"]) == (
        "electra.embeddings_project.weight", "transpose", [24, 32])
    assert rows["electra/embeddings/word_embeddings"]["target_shape"] == [90, 24]


def test_google_outputs_restore_in_google_graph_and_match(electra):
    for o in outputs_of(electra, "google-tf1"):
        c = electra["checks"][o["name"]]
        assert c["checkpoint_prefix"] == "model.ckpt", o["name"]
        assert c["global_step"] is not None, o["name"]
        assert_outputs_match(o["name"], c)
        assert {"electra_hparams.json", "vocab.txt", "checkpoint", "model.ckpt.index"} <= {
            p.name for p in Path(o["path"]).iterdir()}
    assert electra["checks"]["pt_disc__google-tf1"]["heads"] == ["discriminator"]
    assert electra["checks"]["g_pre__hf-pytorch__back"]["global_step"] == 0


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_converting_back_is_bit_exact(electra, convention):
    backs = [o for o in outputs_of(electra, convention) if o["back_of"]]
    assert backs
    for o in backs:
        c = electra["checks"][o["name"]]
        assert c["bit_exact"] is True, o["name"]
        if o["root"] == "g_pre":  # the generator and the optimizer state stay behind
            assert all(n.startswith(("generator", "global_step")) or "adam" in n
                       for n in c["missing_from_back"]), c["missing_from_back"]
            continue
        forward = electra["by_name"][o["name"][: -len("__back")]]["report"]
        skipped = {s["name"] for s in forward["skipped"]}
        assert not set(c["missing_from_back"]) - skipped - {"global_step"}, o["name"]


def test_transformers_importer_reads_our_google_outputs_bit_identically(electra):
    assert len(electra["importer"]) == 4
    for ours, result in electra["importer"].items():
        assert result["unequal"] == [], (ours, result)
        assert result["diff"], ours
        for key, value in result["diff"].items():
            assert value is not None and value <= TOL, (ours, key, value)


def test_what_google_cannot_hold_is_refused(electra, tmp_path):
    for name, words in (("pt_cls", "ElectraForSequenceClassification"),
                        ("pt_gen", "generator")):
        proc = run_tf("convert", electra["sources"][name], tmp_path / name, "--to", "google-tf1",
                      check=False)
        assert proc.returncode == 2, proc.stderr
        assert words in proc.stderr
        assert not (tmp_path / name).exists()


def test_dry_run_dtype_and_shards(electra, tmp_path):
    src = electra["sources"]["g_pre"]
    plan = json.loads(run_tf("convert", src, tmp_path / "never", "--to", "hf-pytorch", "--class",
                             "ElectraForMaskedLM", "--dry-run", "--json").stdout)
    assert not (tmp_path / "never").exists()
    assert plan["hf_class"] == "ElectraForMaskedLM" and plan["family"] == "electra-generator"
    rows = {t["target"]: t for t in plan["tensors"]}
    assert rows["electra.embeddings.word_embeddings.weight"]["source"] == \
        "electra/embeddings/word_embeddings"
    assert rows["generator_lm_head.bias"]["source"] == "generator_predictions/output_bias"
    report = convert(src, tmp_path / "f16", "hf-pytorch", "--dtype", "f16", "--shard-size", "20KB")
    assert {t["target_dtype"] for t in report["tensors"]} == {"f16"}
    assert report["verify"]["passed"] is True
    assert (tmp_path / "f16" / "model.safetensors.index.json").exists()
