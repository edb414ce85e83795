"""What the model-conversion tests check in every framework subprocess, whatever the family:
loading an HF folder with its own class (PyTorch or TF, never from_pt) and keeping what the loader
said, the layout of a tf_model.h5, and bit-for-bit equality of the tensors that came back.

Imports a framework only inside the functions that need it (the subprocess decides which one)."""
import json
import os

import numpy as np


def architecture(folder):
    return json.load(open(os.path.join(folder, "config.json")))["architectures"][0]


def loading_info(info):
    return {k: [str(x) for x in v] for k, v in info.items()}


def compare(got, ref):
    """Max abs difference per output the loaded model has (None when the reference lacks it)."""
    return {k: (float(np.max(np.abs(got[k] - ref[k]))) if k in ref else None) for k in got}


def to_numpy(outputs):
    return {k: np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
            for k, v in outputs.items()}


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def h5_layout(path):
    """The layer and weight names, shapes and dtypes of a Keras .h5 in the file's order."""
    import h5py
    with h5py.File(path, "r") as f:
        layers = [_text(n) for n in f.attrs["layer_names"]]
        weights = {l: [(_text(n), list(f[l][_text(n)].shape), str(f[l][_text(n)].dtype))
                       for n in f[l].attrs["weight_names"]] for l in layers}
        return {"layers": layers, "weights": weights,
                "attrs": {k: str(_text(v)) for k, v in f.attrs.items() if k != "layer_names"}}


def h5_arrays(path):
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset)
                     else None)
    return out


def tf1_vars(prefix):
    import tensorflow as tf
    return {n: tf.train.load_variable(prefix, n) for n, _ in tf.train.list_variables(prefix)}


def same_array(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def back_check(a, b, same):
    """`b` (a converted-back checkpoint) holds only tensors of `a`, each equal bit for bit."""
    return {"missing_from_back": sorted(set(a) - set(b)),
            "bit_exact": set(b) <= set(a) and all(same(a[k], b[k]) for k in b)}


def torch_state_dict(folder):
    """Every tensor of an hf-pytorch folder (all shards, safetensors or .bin)."""
    import torch
    from safetensors.torch import load_file
    sd = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            sd.update(load_file(os.path.join(folder, f)))
        elif f.endswith(".bin"):
            sd.update(torch.load(os.path.join(folder, f), weights_only=True))
    return sd


def same_torch(a, b):
    import torch
    return a.dtype == b.dtype and a.shape == b.shape and \
        a.contiguous().view(torch.uint8).equal(b.contiguous().view(torch.uint8))


def load_hf_torch(folder):
    """The folder's config.json class from transformers (PyTorch); returns (model, result) with
    the class and the loader's missing/unexpected/mismatched keys in result."""
    import transformers
    arch = architecture(folder)
    model, info = getattr(transformers, arch).from_pretrained(folder, output_loading_info=True)
    return model.eval(), {"class": arch, "loading_info": loading_info(info)}


def load_hf_tf(folder):
    """The TF class of the folder's config.json architecture, from tf_model.h5 (no from_pt)."""
    import transformers
    arch = architecture(folder)
    model, info = getattr(transformers, "TF" + arch).from_pretrained(folder,
                                                                      output_loading_info=True)
    return model, {"class": arch, "loading_info": loading_info(info)}
