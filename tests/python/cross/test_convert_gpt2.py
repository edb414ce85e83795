"""GPT-2 model conversion between hf-pytorch, hf-tf2 and openai-tf1, proven with the real loaders
(issue 4).

Sources are written by real code: transformers PyTorch (safetensors, a torch.save .bin holding the
tied lm_head alias, a sharded safetensors folder, two configs), transformers TF
(TFGPT2LMHeadModel.save_pretrained) and a TF1 Saver under OpenAI's names
(tests/python/support/openai_gpt2_tf1.py). Every source goes to every other convention and back.
Then one TensorFlow process and one PyTorch process load every output:

* hf-pytorch outputs with GPT2LMHeadModel.from_pretrained (no missing/unexpected keys),
* hf-tf2 outputs with TFGPT2LMHeadModel.from_pretrained on tf_model.h5 (no from_pt), and their
  h5 layout compared with a file TF itself saved for the same config,
* openai-tf1 outputs restored by tf.compat.v1.train.Saver into OpenAI's graph, and by
  transformers' load_tf_weights_in_gpt2,

and each reproduces the source model's final hidden state and logits within 1e-5; converting
back gives bit-identical tensors.
"""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_python, run_tf
from support.convert_harness import (check_missing_and_extra, convert, convert_all,
                                     flag_value, snippet_header)

TOL = 1e-5
EXAMPLE_VOCAB = ROOT / "examples" / "gpt2-tiny"
CONFIGS = {
    "a": dict(vocab_size=400, n_positions=64, n_embd=32, n_layer=2, n_head=4),
    "b": dict(vocab_size=400, n_positions=40, n_embd=48, n_layer=3, n_head=3),
}
TOKENS = [[5, 17, 399, 42, 8, 250, 3], [120, 7, 7, 300, 1, 0, 64]]
CONVENTIONS = ("hf-pytorch", "hf-tf2", "openai-tf1")
# Conversions with options: (source, target, flags, tag).
EXTRAS = [
    ("pt_a", "hf-tf2", ["--shard-size", "30KB"], "sharded"),
    ("pt_a", "hf-pytorch", ["--format", "pytorch", "--shard-size", "40KB"], "bin_sharded"),
    ("tf2_a", "openai-tf1", ["--shard-size", "50KB"], "sharded"),
    ("pt_a", "hf-pytorch", ["--dtype", "bf16"], "bf16"),
    ("pt_a", "hf-pytorch", ["--dtype", "f16"], "f16"),
    ("openai_a", "hf-pytorch", ["--dtype", "bf16"], "bf16"),
]


def copy_vocab(folder, openai=False):
    folder = Path(folder)
    shutil.copy(EXAMPLE_VOCAB / "vocab.json", folder / ("encoder.json" if openai else "vocab.json"))
    shutil.copy(EXAMPLE_VOCAB / "merges.txt", folder / ("vocab.bpe" if openai else "merges.txt"))


MAKE_TORCH_SOURCES = snippet_header("torch") + r"""
import numpy as np, torch
from transformers import GPT2Config, GPT2LMHeadModel
work = sys.argv[1]; configs = json.loads(sys.argv[2]); tokens = torch.tensor(json.loads(sys.argv[3]))
out = {}
for name, cfg in configs.items():
    torch.manual_seed(len(name) * 7 + ord(name))
    model = GPT2LMHeadModel(GPT2Config(**cfg)).eval()
    with torch.no_grad():   # LayerNorm and biases random too: zeros and ones hide swaps
        for p_name, p in model.named_parameters():
            if p.dim() == 1: p.normal_(0.0 if p_name.endswith("bias") else 1.0, 0.1)
    folder = os.path.join(work, "src", "pt_" + name)
    model.save_pretrained(folder)
    with torch.no_grad():
        o = model(tokens, output_hidden_states=True)
    np.savez(os.path.join(work, "ref", "pt_" + name + ".npz"), hidden=o.hidden_states[-1].numpy(),
             logits=o.logits.numpy())
    out["pt_" + name] = folder
    if name == "a":
        # torch.save of the full state dict: lm_head.weight is a second name of wte's storage.
        folder = os.path.join(work, "src", "pt_a_bin"); os.makedirs(folder)
        torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
        model.config.to_json_file(os.path.join(folder, "config.json"))
        shutil_src = None
        out["pt_a_bin"] = folder
        folder = os.path.join(work, "src", "pt_a_sharded")
        model.save_pretrained(folder, max_shard_size="60KB")
        out["pt_a_sharded"] = folder
        for alias in ("pt_a_bin", "pt_a_sharded"):
            np.savez(os.path.join(work, "ref", alias + ".npz"), hidden=o.hidden_states[-1].numpy(),
                     logits=o.logits.numpy())
print(json.dumps(out))
"""

MAKE_TF_SOURCES = snippet_header("tf") + r"""
import numpy as np, tensorflow as tf
from transformers import GPT2Config, TFGPT2LMHeadModel
from support import openai_gpt2_tf1
work = sys.argv[1]; configs = json.loads(sys.argv[2]); tokens = np.array(json.loads(sys.argv[3]))
out = {}
# OpenAI's layout, written by a TF1 Saver.
cfg = configs["a"]
hparams = {"n_vocab": cfg["vocab_size"], "n_ctx": cfg["n_positions"], "n_embd": cfg["n_embd"],
           "n_head": cfg["n_head"], "n_layer": cfg["n_layer"]}
folder = os.path.join(work, "src", "openai_a")
res = openai_gpt2_tf1.run(hparams, tokens, save_to=folder, seed=3)
np.savez(os.path.join(work, "ref", "openai_a.npz"), hidden=res["hidden"], logits=res["logits"])
out["openai_a"] = folder
# transformers TF: one save_pretrained per config (also the layout reference for hf-tf2 outputs).
from transformers.modeling_tf_utils import keras
for name, cfg in configs.items():
    keras.backend.clear_session()   # a fresh process's scope names (no "_1" suffix)
    tf.random.set_seed(11)
    model = TFGPT2LMHeadModel(GPT2Config(**cfg))
    model(tokens)
    for w in model.weights:   # LayerNorm and biases random too
        if len(w.shape) == 1 or w.shape[0] == 1:
            w.assign(tf.random.normal(w.shape, mean=1.0 if "gamma" in w.name else 0.0, stddev=0.1))
    folder = os.path.join(work, "src", "tf2_" + name)
    model.save_pretrained(folder)
    o = model(tokens, output_hidden_states=True)
    np.savez(os.path.join(work, "ref", "tf2_" + name + ".npz"), hidden=o.hidden_states[-1].numpy(),
             logits=o.logits.numpy())
    out["tf2_" + name] = folder
    if name == "a":  # HF's sharded TF layout: tf_model-0000N-of-0000M.h5 + tf_model.h5.index.json
        folder = os.path.join(work, "src", "tf2_a_sharded")
        model.save_pretrained(folder, max_shard_size="40KB")
        assert os.path.exists(os.path.join(folder, "tf_model.h5.index.json"))
        np.savez(os.path.join(work, "ref", "tf2_a_sharded.npz"), hidden=o.hidden_states[-1].numpy(),
                 logits=o.logits.numpy())
        out["tf2_a_sharded"] = folder
print(json.dumps(out))
"""

CHECK_TF = snippet_header("tf") + r"""
import h5py, numpy as np, tensorflow as tf
from transformers import TFGPT2LMHeadModel
from support import openai_gpt2_tf1, tf_shim
work = sys.argv[1]; outputs = json.loads(sys.argv[2]); tokens = np.array(json.loads(sys.argv[3]))
sources = json.loads(sys.argv[4])
def h5_layout(path):
    with h5py.File(path, "r") as f:
        layers = [n.decode() if isinstance(n, bytes) else n for n in f.attrs["layer_names"]]
        weights = {}
        for layer in layers:
            names = [n.decode() if isinstance(n, bytes) else n for n in f[layer].attrs["weight_names"]]
            weights[layer] = [(n, list(f[layer][n].shape), str(f[layer][n].dtype)) for n in names]
        attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items() if k != "layer_names"}
        return {"layers": layers, "weights": weights, "attrs": attrs}
def h5_arrays(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out
results = {}
for o in outputs:
    ref = np.load(os.path.join(work, "ref", o["root"] + ".npz"))
    r = {}
    if o["convention"] == "hf-tf2":
        model, info = TFGPT2LMHeadModel.from_pretrained(o["path"], output_loading_info=True)
        r["loading_info"] = {k: [str(x) for x in v] for k, v in info.items()}
        out = model(tokens, output_hidden_states=True)
        r["hidden"] = float(np.max(np.abs(out.hidden_states[-1].numpy() - ref["hidden"])))
        r["logits"] = float(np.max(np.abs(out.logits.numpy() - ref["logits"])))
        cfg_name = "tf2_" + o["root"].split("_")[1]
        if os.path.exists(os.path.join(o["path"], "tf_model.h5")):  # not for sharded outputs
            r["layout"] = h5_layout(os.path.join(o["path"], "tf_model.h5"))
            r["layout_ref"] = h5_layout(os.path.join(sources[cfg_name], "tf_model.h5"))
        if o["back_of"] and os.path.exists(os.path.join(sources[o["back_of"]], "tf_model.h5")):
            a = h5_arrays(os.path.join(sources[o["back_of"]], "tf_model.h5"))
            b = h5_arrays(os.path.join(o["path"], "tf_model.h5"))
            r["bit_exact"] = sorted(a) == sorted(b) and all(
                a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a)
        elif o["back_of"]:
            # A sharded source comes back as one file (no --shard-size): compare the weights as
            # the model holds them after loading each.
            src = TFGPT2LMHeadModel.from_pretrained(sources[o["back_of"]])
            src(tokens)
            a = {w.name.split("/", 1)[1]: w.numpy() for w in src.weights}  # without the scope
            b = {w.name.split("/", 1)[1]: w.numpy() for w in model.weights}
            r["bit_exact"] = sorted(a) != [] and sorted(a) == sorted(b) and all(
                a[k].tobytes() == b[k].tobytes() for k in a)
    elif o["convention"] == "openai-tf1" and o.get("cast"):
        # A bf16 checkpoint does not restore into OpenAI's float32 graph; TF must read it as bf16.
        prefix = tf.train.latest_checkpoint(o["path"])
        r["dtypes"] = sorted({str(tf.train.load_variable(prefix, n).dtype) for n, _ in tf.train.list_variables(prefix)})
    elif o["convention"] == "openai-tf1":
        res = openai_gpt2_tf1.run(o["path"], tokens, restore_from=o["path"])
        r["hidden"] = float(np.max(np.abs(res["hidden"] - ref["hidden"])))
        r["logits"] = float(np.max(np.abs(res["logits"] - ref["logits"])))
        prefix = tf.train.latest_checkpoint(o["path"])
        r["checkpoint_prefix"] = os.path.relpath(prefix, o["path"])
        names = tf_shim.dump_with_tensorflow(prefix, os.path.join(o["path"], "vars.npz"))
        r["variables"] = sorted(names)
        if o["back_of"]:
            src = tf.train.latest_checkpoint(sources[o["back_of"]])
            a = {n: tf.train.load_variable(src, n) for n, _ in tf.train.list_variables(src)}
            b = {n: tf.train.load_variable(prefix, n) for n in names}
            r["bit_exact"] = sorted(a) == sorted(b) and all(
                a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a)
    else:
        continue
    results[o["name"]] = r
print(json.dumps(results))
"""

CHECK_TORCH = snippet_header("torch") + r"""
import numpy as np, torch
from safetensors.torch import load_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model
from transformers.models.gpt2.modeling_gpt2 import load_tf_weights_in_gpt2
from support import tf_shim
work = sys.argv[1]; outputs = json.loads(sys.argv[2]); tokens = torch.tensor(json.loads(sys.argv[3]))
sources = json.loads(sys.argv[4])
def state_dict(folder):
    sd = {}
    files = sorted(os.listdir(folder))
    for f in files:
        if f.endswith(".safetensors"): sd.update(load_file(os.path.join(folder, f)))
        elif f.endswith(".bin"): sd.update(torch.load(os.path.join(folder, f), weights_only=True))
    return sd
IGNORED = ("lm_head.weight",)   # tied: save_pretrained drops it, torch.save keeps an alias
results = {}
for o in outputs:
    ref = np.load(os.path.join(work, "ref", o["root"] + ".npz"))
    r = {}
    if o["convention"] == "hf-pytorch":
        model, info = GPT2LMHeadModel.from_pretrained(o["path"], output_loading_info=True, dtype="auto")
        r["loading_info"] = {k: [str(x) for x in v] for k, v in info.items()}
        with torch.no_grad():
            out = model.eval()(tokens, output_hidden_states=True)
        r["hidden"] = float(np.max(np.abs(out.hidden_states[-1].float().numpy() - ref["hidden"])))
        r["logits"] = float(np.max(np.abs(out.logits.float().numpy() - ref["logits"])))
        r["dtype"] = str(model.dtype)
        if o.get("cast_base"):
            dtype = {"bf16": torch.bfloat16, "f16": torch.float16}[o["cast"]]
            a = {k: v.to(dtype) for k, v in state_dict(o["cast_base"]).items() if k not in IGNORED}
            b = {k: v for k, v in state_dict(o["path"]).items() if k not in IGNORED}
            r["cast_exact"] = sorted(a) == sorted(b) and all(
                a[k].dtype == b[k].dtype and a[k].view(torch.uint8).equal(b[k].view(torch.uint8)) for k in a)
        if o["back_of"]:
            a = {k: v for k, v in state_dict(sources[o["back_of"]]).items() if k not in IGNORED}
            b = {k: v for k, v in state_dict(o["path"]).items() if k not in IGNORED}
            r["bit_exact"] = sorted(a) == sorted(b) and all(
                a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and
                a[k].contiguous().view(torch.uint8).equal(b[k].contiguous().view(torch.uint8)) for k in a)
            r["keys"] = [sorted(a)[:3], sorted(b)[:3], len(a), len(b)]
    elif o["convention"] == "openai-tf1" and not o.get("cast"):
        # transformers' own importer, fed by a real TF read of the checkpoint (tf_shim).
        hp = json.load(open(os.path.join(o["path"], "hparams.json")))
        cfg = GPT2Config(vocab_size=hp["n_vocab"], n_positions=hp["n_ctx"], n_embd=hp["n_embd"],
                         n_head=hp["n_head"], n_layer=hp["n_layer"])
        model = GPT2Model(cfg).eval()
        tf_shim.install(os.path.join(o["path"], "vars.npz"))
        load_tf_weights_in_gpt2(model, cfg, os.path.join(o["path"], "model.ckpt"))
        del sys.modules["tensorflow"]
        with torch.no_grad():
            hidden = model(tokens).last_hidden_state
            logits = hidden @ model.wte.weight.T
        r["hf_importer_hidden"] = float(np.max(np.abs(hidden.numpy() - ref["hidden"])))
        r["hf_importer_logits"] = float(np.max(np.abs(logits.numpy() - ref["logits"])))
    else:
        continue
    results[o["name"]] = r
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    work = tmp_path_factory.mktemp("gpt2")
    (work / "src").mkdir()
    (work / "ref").mkdir()
    args = (json.dumps(CONFIGS), json.dumps(TOKENS))
    sources = run_python(MAKE_TORCH_SOURCES, work, *args)
    sources.update(run_python(MAKE_TF_SOURCES, work, *args))
    for name, folder in sources.items():
        copy_vocab(folder, openai=name.startswith("openai"))
    conventions = {n: (f, "openai-tf1" if n.startswith("openai") else
                       "hf-tf2" if n.startswith("tf2") else "hf-pytorch")
                   for n, f in sources.items()}
    outputs = convert_all(conventions, CONVENTIONS, work / "out", EXTRAS)
    by_name = {o["name"]: o for o in outputs}
    for o in outputs:
        o["cast"] = flag_value(o, "--dtype")
        if o["cast"]:
            o["cast_base"] = (sources[o["root"]] if o["root"].startswith("pt_")
                              else by_name[f"{o['root']}__hf-pytorch"]["path"])
    # A bf16 model through OpenAI's layout and back stays bit-exact.
    bf16 = by_name["pt_a__hf-pytorch__bf16"]
    sources["pt_a_bf16"] = bf16["path"]
    for target, back_of in (("openai-tf1", None), ("hf-pytorch", "pt_a_bf16")):
        src = bf16["path"] if back_of is None else outputs[-1]["path"]
        out = work / "out" / f"pt_a_bf16__{target}"
        outputs.append({"name": out.name, "path": str(out), "convention": target, "root": "pt_a",
                        "back_of": back_of, "cast": "bf16", "report": convert(src, out, target)})
    slim = [{k: v for k, v in o.items() if k != "report"} for o in outputs]
    checks = run_python(CHECK_TF, work, json.dumps(slim), json.dumps(TOKENS), json.dumps(sources))
    for name, check in run_python(CHECK_TORCH, work, json.dumps(slim), json.dumps(TOKENS),
                                  json.dumps(sources)).items():
        checks.setdefault(name, {}).update(check)
    return {"work": work, "sources": sources, "outputs": outputs, "checks": checks}


def outputs_of(gpt2, convention):
    found = [o for o in gpt2["outputs"] if o["convention"] == convention]
    assert found
    return found


def test_every_ordered_pair_was_converted(gpt2):
    pairs = {(o["report"]["source"]["convention"], o["convention"]) for o in gpt2["outputs"]
             if not o.get("flags") and not o.get("cast")}
    assert pairs == {(a, b) for a in CONVENTIONS for b in CONVENTIONS if a != b}


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_converting_back_is_bit_exact(gpt2, convention):
    backs = [o for o in outputs_of(gpt2, convention) if o["back_of"]]
    assert backs
    for o in backs:
        assert gpt2["checks"][o["name"]]["bit_exact"] is True, (o["name"], gpt2["checks"][o["name"]])


def test_hf_pytorch_outputs_load_in_transformers_and_match(gpt2):
    for o in outputs_of(gpt2, "hf-pytorch"):
        c = gpt2["checks"][o["name"]]
        info = c["loading_info"]
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and \
            info["mismatched_keys"] == [], (o["name"], info)
        if not o.get("cast"):
            assert c["hidden"] <= TOL and c["logits"] <= TOL, (o["name"], c)


@pytest.mark.parametrize("dtype,torch_name", [("bf16", "torch.bfloat16"), ("f16", "torch.float16")])
def test_dtype_casts_equal_torchs_rounding(gpt2, dtype, torch_name):
    casts = [o for o in gpt2["outputs"] if o.get("cast_base") and o["cast"] == dtype]
    assert casts
    for o in casts:
        c = gpt2["checks"][o["name"]]
        assert c["cast_exact"] is True, o["name"]
        assert c["dtype"] == torch_name
        assert json.loads(Path(o["path"], "config.json").read_text())["dtype"] == torch_name[6:]
        assert c["logits"] < 0.05, c  # a sanity bound for the rounded model


def test_bf16_stays_bf16_through_openai_layout(gpt2):
    assert gpt2["checks"]["pt_a_bf16__openai-tf1"]["dtypes"] == ["bfloat16"]
    assert gpt2["checks"]["pt_a_bf16__hf-pytorch"]["bit_exact"] is True


def test_hf_tf2_outputs_load_in_transformers_tf_and_match(gpt2):
    for o in outputs_of(gpt2, "hf-tf2"):
        c = gpt2["checks"][o["name"]]
        info = c["loading_info"]
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (o["name"], info)
        assert c["hidden"] <= TOL and c["logits"] <= TOL, (o["name"], c)


def test_hf_tf2_outputs_have_the_layout_tf_saves(gpt2):
    for o in outputs_of(gpt2, "hf-tf2"):
        if o.get("flags"):
            continue
        c = gpt2["checks"][o["name"]]
        assert c["layout"] == c["layout_ref"], o["name"]


def test_openai_outputs_restore_in_openai_graph_and_match(gpt2):
    for o in outputs_of(gpt2, "openai-tf1"):
        if o.get("cast"):
            continue
        c = gpt2["checks"][o["name"]]
        assert c["checkpoint_prefix"] == "model.ckpt"
        assert c["hidden"] <= TOL and c["logits"] <= TOL, (o["name"], c)
        files = sorted(p.name for p in Path(o["path"]).iterdir())
        assert {"checkpoint", "hparams.json", "model.ckpt.index", "encoder.json",
                "vocab.bpe"} <= set(files), files
        assert json.loads(Path(o["path"], "hparams.json").read_text()).keys() == {
            "n_vocab", "n_ctx", "n_embd", "n_head", "n_layer"}


def test_openai_outputs_load_with_transformers_importer(gpt2):
    for o in outputs_of(gpt2, "openai-tf1"):
        if o.get("cast"):
            continue
        c = gpt2["checks"][o["name"]]
        assert c["hf_importer_hidden"] <= TOL and c["hf_importer_logits"] <= TOL, (o["name"], c)


def test_sharded_outputs(gpt2):
    by_name = {o["name"]: o for o in gpt2["outputs"]}
    files = lambda n: sorted(p.name for p in Path(by_name[n]["path"]).iterdir())
    assert "tf_model.h5.index.json" in files("pt_a__hf-tf2__sharded")
    assert "pytorch_model.bin.index.json" in files("pt_a__hf-pytorch__bin_sharded")
    assert sum(f.startswith("model.ckpt.data-") for f in files("tf2_a__openai-tf1__sharded")) > 1
    # and they load and match (the general tests cover every output, these included)
    for n in ("pt_a__hf-tf2__sharded", "pt_a__hf-pytorch__bin_sharded", "tf2_a__openai-tf1__sharded"):
        c = gpt2["checks"][n]
        assert c["hidden"] <= TOL and c["logits"] <= TOL, (n, c)


def test_vocab_files_are_carried_byte_for_byte(gpt2):
    vocab = (EXAMPLE_VOCAB / "vocab.json").read_bytes()
    merges = (EXAMPLE_VOCAB / "merges.txt").read_bytes()
    for o in gpt2["outputs"]:
        openai = o["convention"] == "openai-tf1"
        assert Path(o["path"], "encoder.json" if openai else "vocab.json").read_bytes() == vocab
        assert Path(o["path"], "vocab.bpe" if openai else "merges.txt").read_bytes() == merges


def test_tied_alias_and_shards_are_reported(gpt2):
    by_name = {o["name"]: o for o in gpt2["outputs"]}
    report = by_name["pt_a_bin__openai-tf1"]["report"]
    skipped = {s["name"]: s["reason"] for s in report["skipped"]}
    assert skipped == {"lm_head.weight": "tied to transformer.wte.weight (checked equal, not "
                                         "stored twice)"}
    assert by_name["pt_a_sharded__hf-tf2"]["report"]["source"]["checkpoint"].endswith(
        "model.safetensors.index.json")


def test_dry_run_plan(gpt2, tmp_path):
    src = gpt2["sources"]["pt_a"]
    out = tmp_path / "never"
    plan = json.loads(run_tf("convert", src, out, "--to", "openai-tf1", "--dry-run", "--json").stdout)
    assert not out.exists()
    assert plan["dry_run"] is True and plan["family"] == "gpt2"
    assert plan["source"]["convention"] == "hf-pytorch"
    rows = {t["target"]: t for t in plan["tensors"]}
    assert len(rows) == 2 + 12 * 2 + 2
    assert rows["model/h1/attn/c_attn/w"] == {
        "target": "model/h1/attn/c_attn/w", "target_shape": [1, 32, 96], "target_dtype": "f32",
        "step": "reshape", "canonical": "h.1.attn.c_attn.weight", "group": "base",
        "source": "transformer.h.1.attn.c_attn.weight", "source_shape": [32, 96],
        "source_dtype": "f32"}
    assert rows["model/wte"]["step"] == "copy"
    assert all(t["step"] != "transpose" for t in plan["tensors"])
    text = run_tf("convert", src, out, "--to", "openai-tf1", "--dry-run").stdout
    assert "transformer.h.0.mlp.c_fc.weight [32, 128] f32 -> model/h0/mlp/c_fc/w [1, 32, 128] f32  reshape" in text


def test_missing_and_extra_tensors(gpt2, tmp_path):
    check_missing_and_extra(gpt2["sources"]["pt_a"], tmp_path, "openai-tf1", "gpt2",
                            missing="transformer.h.1.ln_2.bias", extra="transformer.extra.weight",
                            extra_copy_of="transformer.ln_f.bias")

def test_refuses_what_openai_cannot_express(gpt2, tmp_path):
    src = Path(gpt2["sources"]["pt_a"])
    folder = tmp_path / "eps"
    shutil.copytree(src, folder)
    config = json.loads((folder / "config.json").read_text())
    config["layer_norm_epsilon"] = 1e-6
    (folder / "config.json").write_text(json.dumps(config))
    proc = run_tf("convert", folder, tmp_path / "o", "--to", "openai-tf1", check=False)
    assert proc.returncode == 2
    assert "layer_norm_epsilon" in proc.stderr and "1e-5" in proc.stderr
    assert not (tmp_path / "o").exists()
