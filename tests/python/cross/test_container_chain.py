"""Round trips bundle <-> h5 <-> safetensors <-> PyTorch are bit-exact for every dtype they share
(issue 3), with each intermediate file checked by the library that owns its format."""
import json

from conftest import run_python, run_tf

MAKE_SOURCE = r"""
import json, sys, torch
dtypes = sys.argv[2].split(",")
g = torch.Generator().manual_seed(0)
sd = {}
for name in dtypes:
    dtype = getattr(torch, name)
    raw = torch.randint(0, 256, (6 * dtype.itemsize,), dtype=torch.uint8, generator=g)
    t = (raw[:6] % 2).bool() if dtype == torch.bool else raw.view(dtype)
    sd[f"layer_{name}/w:0"] = t.reshape(2, 3).clone()
    sd[f"layer_{name}/s:0"] = t[:1].reshape(()).clone()
torch.save(sd, sys.argv[1])
print(json.dumps({k: v.reshape(-1).view(torch.uint8).tolist() for k, v in sd.items()}))
"""

TORCH_BYTES = r"""
import json, sys, torch
sd = torch.load(sys.argv[1], weights_only=True)
print(json.dumps({k: v.reshape(-1).contiguous().view(torch.uint8).tolist() for k, v in sd.items()}))
"""

TF_BYTES = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, tensorflow as tf
reader = tf.train.load_checkpoint(sys.argv[1])
out = {}
for name, _ in tf.train.list_variables(sys.argv[1]):
    value = reader.get_tensor(name)
    out[name] = list(np.ascontiguousarray(value).reshape(-1).view(np.uint8).tobytes())
print(json.dumps(out))
"""

H5PY_BYTES = r"""
import json, sys, h5py, numpy as np
out = {}
with h5py.File(sys.argv[1], "r") as f:
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = list(np.ascontiguousarray(obj[()]).reshape(-1).view(np.uint8).tobytes())
    f.visititems(visit)
print(json.dumps(out))
"""


def check_chain(tmp_path, dtypes, chain):
    source = tmp_path / "source.bin"
    expected = run_python(MAKE_SOURCE, source, ",".join(dtypes))
    current = source
    for i, name in enumerate(chain):
        nxt = tmp_path / f"step{i}{name}"
        run_tf("convert", current, nxt)
        if name.endswith(".ckpt"):
            assert run_python(TF_BYTES, nxt) == expected, f"TensorFlow reads {nxt} differently"
        elif name.endswith(".h5"):
            assert run_python(H5PY_BYTES, nxt) == expected, f"h5py reads {nxt} differently"
        current = nxt
    final = tmp_path / "final.bin"
    run_tf("convert", current, final)
    assert run_python(TORCH_BYTES, final) == expected


def test_chain_through_every_container(tmp_path):
    dtypes = ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
    check_chain(tmp_path, dtypes, [".ckpt", ".h5", ".safetensors", ".ckpt", ".bin", ".h5"])


def test_chain_of_dtypes_hdf5_cannot_hold(tmp_path):
    # bfloat16 and the wide unsigned types: TF bundles, safetensors and torch all carry them.
    dtypes = ["bfloat16", "uint16", "uint32", "uint64"]
    check_chain(tmp_path, dtypes, [".ckpt", ".bin", ".safetensors", ".ckpt"])
