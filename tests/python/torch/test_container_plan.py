"""Container copies (names unchanged) are planned like model conversions (issue 12 items 10, 11):
`--dtype` casts their floating tensors exactly as torch's .to() does, and storage shared in the
source (a tied lm_head in a torch.save file) is reported with what storing it again costs, or
written once with --dedupe-tied, the way save_pretrained does."""
import os

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from conftest import ROOT, run_tf

GPT2 = ROOT / "examples" / "gpt2-tiny"
FLOATS = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


def source_tensors():
    g = torch.Generator().manual_seed(0)
    tensors = {}
    for dtype in FLOATS:
        name = str(dtype).replace("torch.", "")
        # Values across the f16 range and beyond it (to inf), subnormals, ties to even.
        values = torch.randn(7, 5, generator=g, dtype=torch.float64) * 10.0 ** torch.randint(
            -8, 6, (7, 5), generator=g)
        tensors[f"{name}.weight"] = values.to(dtype)
    tensors["step"] = torch.tensor(7, dtype=torch.int64)
    tensors["mask"] = torch.tensor([True, False, True])
    return tensors


def check_cast(source, result, dtype):
    assert set(result) == set(source)
    for name, tensor in source.items():
        want = tensor.to(dtype) if tensor.is_floating_point() else tensor
        got = result[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert got.view(-1).view(torch.uint8).equal(want.contiguous().view(-1).view(torch.uint8)), name


def test_dtype_casts_container_copies_as_torch_does(tmp_path):
    source = source_tensors()
    save_file(source, tmp_path / "a.safetensors")
    for dtype, flag in [(torch.float16, "f16"), (torch.bfloat16, "bf16"), (torch.float32, "f32")]:
        out = tmp_path / f"b-{flag}.safetensors"
        proc = run_tf("convert", tmp_path / "a.safetensors", out, "--dtype", flag)
        assert f"floating tensors as {flag}" in proc.stdout
        check_cast(source, load_file(out), dtype)
        as_bin = tmp_path / f"b-{flag}.bin"
        run_tf("convert", tmp_path / "a.safetensors", as_bin, "--dtype", flag)
        check_cast(source, torch.load(as_bin, weights_only=True), dtype)


def test_container_dry_run_writes_nothing_and_says_what_it_would(tmp_path):
    save_file(source_tensors(), tmp_path / "a.safetensors")
    proc = run_tf("convert", tmp_path / "a.safetensors", tmp_path / "b.bin", "--dtype", "f16",
                  "--dry-run")
    assert proc.stdout.startswith("plan: write 6 tensors (")
    assert "floating tensors as f16" in proc.stdout
    assert sorted(os.listdir(tmp_path)) == ["a.safetensors"]


def test_shared_storage_is_reported_with_its_cost(tmp_path):
    out = tmp_path / "model.safetensors"
    proc = run_tf("convert", GPT2 / "pytorch_model.bin", out)
    assert proc.stdout.splitlines()[1:] == [
        "note: lm_head.weight shares storage with transformer.wte.weight in the source; "
        "safetensors stores it again (+50.0 KiB; --dedupe-tied writes it once, as save_pretrained "
        "does)"]
    source = torch.load(GPT2 / "pytorch_model.bin", weights_only=True)
    written = load_file(out)
    assert set(written) == set(source)
    assert torch.equal(written["lm_head.weight"], source["transformer.wte.weight"])


def test_dedupe_tied_writes_the_tie_once_and_transformers_loads_it(tmp_path):
    from transformers import GPT2LMHeadModel

    folder = tmp_path / "deduped"
    proc = run_tf("convert", GPT2 / "pytorch_model.bin", folder, "--format", "safetensors",
                  "--dedupe-tied")
    assert proc.stdout.splitlines()[1:] == [
        "not written: lm_head.weight, the same storage as transformer.wte.weight (--dedupe-tied; "
        "50.0 KiB saved)"]
    assert proc.stdout.startswith("wrote 28 tensors (157.5 KiB) ")
    for name in ("config.json", "generation_config.json"):
        (folder / name).write_bytes((GPT2 / name).read_bytes())

    # The keys save_pretrained writes for the same model.
    reference = GPT2LMHeadModel.from_pretrained(GPT2)
    reference.save_pretrained(tmp_path / "save_pretrained", safe_serialization=True)
    with safe_open(folder / "model.safetensors", "pt") as ours, \
            safe_open(tmp_path / "save_pretrained" / "model.safetensors", "pt") as theirs:
        assert set(ours.keys()) == set(theirs.keys())
        assert "lm_head.weight" not in set(ours.keys())

    loaded = GPT2LMHeadModel.from_pretrained(folder)
    want, got = reference.state_dict(), loaded.state_dict()
    assert set(want) == set(got)
    for name, tensor in want.items():
        assert torch.equal(got[name], tensor), name
    assert loaded.lm_head.weight.data_ptr() == loaded.transformer.wte.weight.data_ptr()
    tokens = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        assert torch.equal(loaded(tokens).logits, reference(tokens).logits)


def test_partial_views_are_reported_but_never_dropped(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    torch.save({"base": base, "row": base[1], "alias": base}, tmp_path / "a.bin")
    proc = run_tf("convert", tmp_path / "a.bin", tmp_path / "b.safetensors", "--dedupe-tied")
    assert "not written: alias, the same storage as base (--dedupe-tied; 96 B saved)" in proc.stdout
    assert ("note: row shares storage with base in the source; safetensors stores it again "
            "(+24 B)\n") in proc.stdout
    assert set(load_file(tmp_path / "b.safetensors")) == {"base", "row"}


def test_gguf_container_copy_is_planned_by_what_gguf_holds(tmp_path):
    """A .gguf output is judged by what GGUF holds (ggml's 63-byte names), in the dry run and the
    real run alike, not refused as if it had no f32 type; a valid copy reads back bit for bit."""
    save_file({"a" * 64: torch.ones(4)}, tmp_path / "long.safetensors")
    for extra in (["--dry-run"], []):
        proc = run_tf("convert", tmp_path / "long.safetensors", tmp_path / "long.gguf", *extra,
                      check=False)
        assert proc.returncode == 2, proc.stderr
        assert "longer than ggml's 63 bytes" in proc.stderr and "no f32 type" not in proc.stderr
        assert not (tmp_path / "long.gguf").exists()
    weights = {"w": torch.arange(12, dtype=torch.float32).reshape(3, 4)}
    save_file(weights, tmp_path / "ok.safetensors")
    run_tf("convert", tmp_path / "ok.safetensors", tmp_path / "ok.gguf")
    run_tf("convert", tmp_path / "ok.gguf", tmp_path / "back.safetensors")
    assert load_file(tmp_path / "back.safetensors")["w"].equal(weights["w"])
