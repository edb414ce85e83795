"""RoBERTa and XLM-RoBERTa (issue 17): every head class converted hf-pytorch <-> hf-tf2 by
tensorferry, loaded by the real loaders (transformers' AutoModel* classes for PyTorch,
TFAutoModel* without from_pt) with no missing or unexpected keys, and agreeing with the source
model within 1e-5; verify's forward pass against PyTorch's (position ids from padding_idx + 1),
and broken conversions caught at the stage they break. Torch and TF run in separate processes."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_python, run_tf
from support.convert_harness import check_dry_run_and_cast_shards, convert, snippet_header

TOL = 1e-5
CONFIG = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=37, max_position_embeddings=40, type_vocab_size=1, pad_token_id=1)
# Token 1 is <pad>: in the middle of a sequence it takes position padding_idx and the tokens after
# it count on from there (create_position_ids_from_input_ids).
INPUTS = {"input_ids": [[0, 7, 50, 1, 23, 96, 2], [0, 45, 3, 88, 2, 1, 1]],
          "attention_mask": [[1] * 7, [1, 1, 1, 1, 1, 0, 0]]}
SOURCES = {  # name -> (class, labels)
    "mlm": ("RobertaForMaskedLM", 0),
    "cls": ("RobertaForSequenceClassification", 3),
    "tok": ("RobertaForTokenClassification", 4),
    "qa": ("RobertaForQuestionAnswering", 0),
    "base": ("RobertaModel", 0),
    "xlm": ("XLMRobertaForMaskedLM", 0),
}
OUTPUTS = ("last_hidden_state", "pooler_output", "logits", "start_logits", "end_logits")

MAKE_TORCH = snippet_header("torch") + r"""
import numpy as np, torch, transformers
work, config, inputs, sources = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
feed = {k: torch.tensor(v) for k, v in inputs.items()}
for i, (name, (cls, labels)) in enumerate(sources.items()):
    torch.manual_seed(10 + i)
    kw = dict(config, num_labels=labels) if labels else dict(config)
    cfg = (transformers.XLMRobertaConfig if cls.startswith("XLM") else transformers.RobertaConfig)(**kw)
    model = getattr(transformers, cls)(cfg).eval()
    with torch.no_grad():  # biases and LayerNorms random too: zeros and ones hide swapped tensors
        for n, p in model.named_parameters():
            if p.dim() == 1: p.normal_(1.0 if "orm.weight" in n else 0.0, 0.1)
            else: p.normal_(0.0, 0.2)
        model.tie_weights()
        out = model(**feed, output_hidden_states=True)
    ref = {"last_hidden_state": out.hidden_states[-1].numpy(), "embeddings": out.hidden_states[0].numpy()}
    for k in ("pooler_output", "logits", "start_logits", "end_logits"):
        if getattr(out, k, None) is not None: ref[k] = getattr(out, k).numpy()
    model.save_pretrained(os.path.join(work, "src", name))
    np.savez(os.path.join(work, "ref", name + ".npz"), **ref)
print(json.dumps("ok"))
"""

LOAD = r"""
import numpy as np
work, outputs, inputs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
CLASSES = {"RobertaForMaskedLM": "AutoModelForMaskedLM", "XLMRobertaForMaskedLM": "AutoModelForMaskedLM",
           "RobertaForSequenceClassification": "AutoModelForSequenceClassification",
           "RobertaForTokenClassification": "AutoModelForTokenClassification",
           "RobertaForQuestionAnswering": "AutoModelForQuestionAnswering", "RobertaModel": "AutoModel"}
result = {}
for name, (folder, root) in outputs.items():
    cls = json.load(open(os.path.join(folder, "config.json")))["architectures"][0]
    model, info = load(CLASSES[cls], folder)
    out = run(model)
    ref = np.load(os.path.join(work, "ref", root + ".npz"))
    diff = {}
    for k in ("last_hidden_state", "pooler_output", "logits", "start_logits", "end_logits"):
        if k in out: diff[k] = float(np.max(np.abs(np.asarray(out[k], np.float64) - ref[k]))) if k in ref else None
    result[name] = {"class": cls, "diff": diff,
                    "info": {k: sorted(map(str, v)) for k, v in info.items() if k != "error_msgs"}}
print(json.dumps(result))
"""

CHECK_TORCH = snippet_header("torch") + r"""
import torch, transformers
def load(auto, folder):
    return getattr(transformers, auto).from_pretrained(folder, output_loading_info=True)
def run(model):
    with torch.no_grad():
        o = model.eval()(**{k: torch.tensor(v) for k, v in inputs.items()}, output_hidden_states=True)
    d = {"last_hidden_state": o.hidden_states[-1].numpy()}
    for k in ("pooler_output", "logits", "start_logits", "end_logits"):
        if getattr(o, k, None) is not None: d[k] = getattr(o, k).numpy()
    return d
""" + LOAD

CHECK_TF = snippet_header("tf") + r"""
import tensorflow as tf, transformers
def load(auto, folder):
    return getattr(transformers, "TF" + auto).from_pretrained(folder, output_loading_info=True)
def run(model):
    o = model({k: np.array(v, np.int32) for k, v in inputs.items()}, output_hidden_states=True, training=False)
    d = {"last_hidden_state": o.hidden_states[-1].numpy()}
    for k in ("pooler_output", "logits", "start_logits", "end_logits"):
        if getattr(o, k, None) is not None: d[k] = o[k].numpy()
    return d
""" + LOAD


@pytest.fixture(scope="module")
def roberta(tmp_path_factory):
    work = tmp_path_factory.mktemp("roberta")
    for sub in ("src", "ref", "out"):
        (work / sub).mkdir()
    run_python(MAKE_TORCH, work, json.dumps(CONFIG), json.dumps(INPUTS), json.dumps(SOURCES))
    tf2, back, reports = {}, {}, {}
    for name in SOURCES:
        src = work / "src" / name
        reports[name] = convert(src, work / "out" / f"{name}_tf2", "hf-tf2")
        tf2[name] = (str(work / "out" / f"{name}_tf2"), name)
        reports[name + "_back"] = convert(work / "out" / f"{name}_tf2", work / "out" / f"{name}_back",
                                          "hf-pytorch")
        back[name] = (str(work / "out" / f"{name}_back"), name)
    checks_tf = run_python(CHECK_TF, work, json.dumps(tf2), json.dumps(INPUTS))
    checks_torch = run_python(CHECK_TORCH, work, json.dumps(back), json.dumps(INPUTS))
    return {"work": work, "tf": checks_tf, "torch": checks_torch, "reports": reports}


def assert_loaded_and_equal(check, name, expected_class):
    info = check["info"]
    # The weightless Dropout before the token classifier is named by a per-process Keras counter
    # (see test_convert_bert.py); nothing else may be missing or unexpected.
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        assert [k for k in info.get(key, []) if not re.fullmatch(r"dropout_\d+", k)] == [], \
            (name, info)
    assert check["class"] == expected_class, name
    assert "last_hidden_state" in check["diff"]
    for key, value in check["diff"].items():
        assert value is not None and value <= TOL, (name, key, value)


def test_hf_tf2_outputs_load_without_from_pt_and_match(roberta):
    for name, (cls, _) in SOURCES.items():
        assert_loaded_and_equal(roberta["tf"][name], name, cls)
    assert set(roberta["tf"]["cls"]["diff"]) >= {"logits"}
    assert set(roberta["tf"]["qa"]["diff"]) >= {"start_logits", "end_logits"}
    assert set(roberta["tf"]["base"]["diff"]) >= {"pooler_output"}


def test_hf_pytorch_round_trip_loads_and_is_bit_exact(roberta):
    from safetensors.numpy import load_file
    for name, (cls, _) in SOURCES.items():
        assert_loaded_and_equal(roberta["torch"][name], name, cls)
        a = load_file(str(roberta["work"] / "src" / name / "model.safetensors"))
        b = load_file(str(roberta["work"] / "out" / f"{name}_back" / "model.safetensors"))
        assert set(a) == set(b), name
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), (name, k)


def test_conversions_were_verified(roberta):
    for name, report in roberta["reports"].items():
        assert report["verify"]["passed"] is True, (name, report["verify"])


def test_verify_forward_starts_positions_at_padding_idx_plus_one(roberta):
    # tensorferry's embeddings stage against PyTorch's hidden_states[0] for sequences holding the
    # padding token: an offset of 0 (BERT's) or padding tokens counted like others would differ.
    ref = np.load(roberta["work"] / "ref" / "mlm.npz")
    args = ["forward", roberta["work"] / "src" / "mlm", "--json"]
    ids = INPUTS["input_ids"][0]  # fully attended: the stage equals PyTorch's row for row
    args += ["--tokens", ",".join(map(str, ids))]
    doc = json.loads(run_tf(*args).stdout)
    stage = next(s for s in doc["stages"] if s["name"] == "embeddings")
    ours = np.array(stage["values"][0], np.float64)
    assert np.max(np.abs(ours - ref["embeddings"][0])) <= TOL
    # The same with BERT's position ids would not agree (the test can fail).
    assert doc["model"]["family"] == "roberta"


def broken_copy(roberta, name, tmp_path, edit):
    """A copy of the converted hf-pytorch folder with one mistake a converter could make."""
    import subprocess, sys
    src = roberta["work"] / "out" / f"{name}_back"
    dst = tmp_path / f"{name}_broken"
    shutil.copytree(src, dst)
    code = snippet_header("none") + r"""
from safetensors.numpy import load_file, save_file
import numpy as np
path, edit = sys.argv[1], sys.argv[2]
t = load_file(path)
if edit == "position_offset":  # positions taken from row 0, as BERT counts them
    p = t["roberta.embeddings.position_embeddings.weight"]
    t["roberta.embeddings.position_embeddings.weight"] = np.concatenate([p[2:], p[:2]])
elif edit == "swap_layers":
    for k in [k for k in t if ".layer.0." in k]:
        other = k.replace(".layer.0.", ".layer.1.")
        t[k], t[other] = t[other].copy(), t[k].copy()
elif edit == "transpose":
    k = "roberta.encoder.layer.1.attention.self.value.weight"
    t[k] = np.ascontiguousarray(t[k].T)
save_file(t, path, metadata={"format": "pt"})
print(json.dumps("ok"))
"""
    run_python(code, dst / "model.safetensors", edit)
    return dst


@pytest.mark.parametrize("edit,stage", [("position_offset", "embeddings"),
                                        ("swap_layers", "layer 0 attention"),
                                        ("transpose", "layer 1 attention")])
def test_verify_catches_a_broken_conversion_at_its_stage(roberta, tmp_path, edit, stage):
    broken = broken_copy(roberta, "mlm", tmp_path, edit)
    proc = run_tf("verify", roberta["work"] / "src" / "mlm", broken, "--json", check=False)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["first_failure"]["stage"] == stage, report["first_failure"]


def test_dry_run_dtype_and_shards(roberta, tmp_path):
    check_dry_run_and_cast_shards(roberta["work"] / "src" / "cls", tmp_path, "hf-tf2",
                                  "RobertaForSequenceClassification")
    # The MLM class's tied decoder copies are reported as skipped, never silently dropped.
    mlm = roberta["reports"]["mlm"]
    skipped = {s["name"] for s in mlm["skipped"]}
    assert not skipped or all("tied" in s["reason"] or "buffer" in s["reason"]
                              for s in mlm["skipped"]), mlm["skipped"]
