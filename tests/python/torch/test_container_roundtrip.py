"""Round trips between safetensors and PyTorch files are bit-exact for every dtype both carry,
checked against the real libraries on both ends (issue 2)."""
import torch
from safetensors.torch import load_file, save_file

from conftest import dump, run_tf

DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32,
          torch.int16, torch.int8, torch.uint8, torch.bool, torch.uint16, torch.uint32,
          torch.uint64, torch.float8_e4m3fn, torch.float8_e5m2]


def random_tensor(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    raw = torch.randint(0, 256, (int(torch.tensor(shape).prod()) * dtype.itemsize,),
                        dtype=torch.uint8, generator=g)
    t = raw.view(dtype).reshape(shape) if shape else raw.view(dtype).reshape(())
    if dtype == torch.bool:
        t = (raw % 2).bool().reshape(shape)
    return t.clone()


def state_dict():
    tensors = {}
    for i, dtype in enumerate(DTYPES):
        name = str(dtype).replace("torch.", "")
        tensors[f"layer.{name}.weight"] = random_tensor(dtype, [3, 5], i)
        tensors[f"layer.{name}.scalar"] = random_tensor(dtype, [], 100 + i)
        tensors[f"layer.{name}.empty"] = torch.empty((0, 4), dtype=dtype)
    return tensors


def same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    return a.reshape(-1).contiguous().view(torch.uint8).equal(
        b.reshape(-1).contiguous().view(torch.uint8))


def test_pytorch_to_safetensors_to_pytorch_is_bit_exact(tmp_path):
    # torch.save as the source: safetensors 0.5.3's save_file has no torch.uint16/32/64, but its
    # load_file reads them.
    source = state_dict()
    torch.save(source, tmp_path / "a.bin")
    run_tf("convert", tmp_path / "a.bin", tmp_path / "b.safetensors")
    run_tf("convert", tmp_path / "b.safetensors", tmp_path / "c.bin")
    via_safetensors = load_file(tmp_path / "b.safetensors")
    back = torch.load(tmp_path / "c.bin", weights_only=True)
    assert set(via_safetensors) == set(source) == set(back)
    for name, tensor in source.items():
        assert same_bits(tensor, via_safetensors[name]), name
        assert same_bits(tensor, back[name]), name


def test_safetensors_to_pytorch_to_safetensors_is_bit_exact(tmp_path):
    source = {k: v for k, v in state_dict().items()
              if v.dtype not in (torch.uint16, torch.uint32, torch.uint64)}
    save_file(source, tmp_path / "a.safetensors")
    run_tf("convert", tmp_path / "a.safetensors", tmp_path / "b.bin")
    run_tf("convert", tmp_path / "b.bin", tmp_path / "c.safetensors")
    via_torch = torch.load(tmp_path / "b.bin", weights_only=True)
    back = load_file(tmp_path / "c.safetensors")
    assert set(via_torch) == set(source) == set(back)
    for name, tensor in source.items():
        assert same_bits(tensor, via_torch[name]), name
        assert same_bits(tensor, back[name]), name


def test_pytorch_to_safetensors_keeps_values_of_views_and_shared_storage(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    source = {"base": base, "transposed": base.t(), "row": base[1], "strided": base[:, ::2],
              "alias": base}
    torch.save(source, tmp_path / "a.bin")
    run_tf("convert", tmp_path / "a.bin", tmp_path / "b.safetensors")
    back = load_file(tmp_path / "b.safetensors")
    for name, tensor in source.items():
        assert torch.equal(back[name], tensor.contiguous()), name
    # and what tensorferry reads is exactly what it wrote
    read = dump(tmp_path / "b.safetensors", tmp_path / "dump")
    assert read["strided"]["bytes"] == source["strided"].contiguous().numpy().tobytes()


def test_sharded_round_trip(tmp_path):
    source = {f"h.{i}.w": torch.randn(64, 64) for i in range(6)}
    torch.save(source, tmp_path / "a.bin")
    run_tf("convert", tmp_path / "a.bin", tmp_path / "st" / "", "--format", "safetensors",
           "--shard-size", "40KB")
    files = sorted(p.name for p in (tmp_path / "st").iterdir())
    assert "model.safetensors.index.json" in files and len(files) > 2, files
    run_tf("convert", tmp_path / "st", tmp_path / "pt" / "", "--format", "pytorch",
           "--shard-size", "40KB")
    assert (tmp_path / "pt" / "pytorch_model.bin.index.json").exists()
    run_tf("convert", tmp_path / "pt", tmp_path / "one.bin")
    back = torch.load(tmp_path / "one.bin", weights_only=True)
    assert set(back) == set(source)
    for name in source:
        assert same_bits(source[name], back[name]), name
