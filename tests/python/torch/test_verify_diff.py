"""`tensorferry diff A B`: tensor by tensor across containers and conventions (issue 5)."""
import os
import shutil
import time

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_TORCH", "1")

import numpy as np
import torch
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model

from conftest import run_tf
from verify_util import diff


def entry(report, name):
    for t in report["tensors"]:
        if name in (t["name_a"], t["name_b"]):
            return t
    raise KeyError(name)


def tiny_gpt2(cls, path, safe=True):
    torch.manual_seed(4)
    model = cls(GPT2Config(vocab_size=100, n_positions=16, n_embd=16, n_layer=2, n_head=2))
    model.save_pretrained(path, safe_serialization=safe)
    return model


def test_same_model_across_containers(tmp_path):
    tiny_gpt2(GPT2LMHeadModel, tmp_path / "st")
    tiny_gpt2(GPT2LMHeadModel, tmp_path / "bin", safe=False)
    rc, report = diff(tmp_path / "st", tmp_path / "bin")
    assert rc == 0 and report["same"]
    assert report["format_a"] == "safetensors" and report["format_b"] == "pytorch"
    compared = [t for t in report["tensors"] if t["status"] == "identical"]
    assert len(compared) == len(load_file(tmp_path / "st" / "model.safetensors"))
    # The .bin carries the tied lm_head: an alias, not a missing weight.
    assert entry(report, "lm_head.weight")["status"] == "skipped"


def test_head_class_prefix_matches_through_the_convention(tmp_path):
    tiny_gpt2(GPT2LMHeadModel, tmp_path / "lm")   # transformer.h.0...
    tiny_gpt2(GPT2Model, tmp_path / "base")       # h.0...
    rc, report = diff(tmp_path / "lm", tmp_path / "base")
    assert rc == 0, [t for t in report["tensors"] if t["failed"]]
    assert report["matching"] == "gpt2 hf-pytorch <-> gpt2 hf-pytorch"
    t = entry(report, "transformer.h.1.attn.c_attn.weight")
    assert t["name_b"] == "h.1.attn.c_attn.weight" and t["bit_identical"]
    rc, report = diff(tmp_path / "lm", tmp_path / "base", "--by-name")
    assert rc == 1 and report["matching"] == "names"


def test_tolerances_dtypes_and_missing(tmp_path):
    a = {"w": torch.randn(8, 9, generator=torch.Generator().manual_seed(1)),
         "b": torch.arange(5, dtype=torch.int64), "gone": torch.ones(3)}
    b = {"w": a["w"].half(), "b": a["b"].clone(), "extra": torch.zeros(2)}
    save_file(a, tmp_path / "a.safetensors")
    save_file(b, tmp_path / "b.safetensors")
    rc, report = diff(tmp_path / "a.safetensors", tmp_path / "b.safetensors")
    assert rc == 1
    w = entry(report, "w")
    assert w["status"] == "DIFFERENT" and w["dtype_b"] == "f16" and not w["bit_identical"]
    expected = (a["w"].double() - a["w"].half().double()).abs()
    assert w["max_abs"] == expected.max().item()
    assert w["mismatched"] == int((expected > 0).sum())
    assert entry(report, "b")["status"] == "identical"
    assert entry(report, "gone")["status"] == "only in A"
    assert entry(report, "extra")["status"] == "only in B"
    rc, report = diff(tmp_path / "a.safetensors", tmp_path / "b.safetensors", "--rtol", "1e-3")
    assert entry(report, "w")["status"] == "close"
    assert rc == 1  # still missing tensors on both sides
    proc = run_tf("diff", tmp_path / "a.safetensors", tmp_path / "b.safetensors", check=False)
    assert proc.returncode == 1 and "DIFFERENT" in proc.stdout and "only in A" in proc.stdout


def test_finds_one_flipped_element_in_100m_elements(tmp_path):
    rows, cols = 10_000, 10_000
    flip = (6_543, 2_109)
    rng = np.random.default_rng(5)
    a = tmp_path / "a.safetensors"
    b = tmp_path / "b.safetensors"
    try:
        save_numpy({"big": rng.standard_normal((rows, cols), dtype=np.float32)}, str(a))
        shutil.copyfile(a, b)
        with open(a, "rb") as f:
            header = int.from_bytes(f.read(8), "little")
        with open(b, "r+b") as f:  # flip the lowest mantissa bit: one ulp, the hardest case
            f.seek(8 + header + 4 * (flip[0] * cols + flip[1]))
            byte = f.read(1)[0]
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte ^ 1]))
        start = time.monotonic()
        rc, report = diff(a, b)
        seconds = time.monotonic() - start
        t = entry(report, "big")
        assert rc == 1 and t["status"] == "DIFFERENT"
        assert t["elements"] == rows * cols
        assert t["mismatched"] == 1 and t["differing"] == 1
        assert t["first_mismatch"]["a"] == list(flip)
        assert t["max_abs_index"]["flat"] == flip[0] * cols + flip[1]
        assert 0 < t["max_abs"] < 1e-6
        print(f"diff of two 400 MB tensors: {seconds:.2f} s")
        rc, _ = diff(a, a)
        assert rc == 0
    finally:
        for p in (a, b):
            p.unlink(missing_ok=True)
