"""What the model-conversion tests check in every framework subprocess, whatever the family:
loading an HF folder with its own class (PyTorch or TF, never from_pt) and keeping what the loader
said, the layout of a tf_model.h5, and bit-for-bit equality of the tensors that came back.

Imports a framework only inside the functions that need it (the subprocess decides which one)."""
import json
import os
import sys

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


def save_torch_sources(work, configs, inputs, sources, config_class, outputs_dict, first_seed):
    """Each source {name: (class, config key)} as a random transformers PyTorch model (3 labels
    for a sequence classifier), its LayerNorms and biases random too (zeros and ones hide swapped
    tensors), saved to work/src/<name> with its outputs on `inputs` in work/ref/<name>.npz.
    Returns {name: folder}."""
    import torch
    import transformers
    feed = {k: torch.tensor(v) for k, v in inputs.items()}
    out = {}
    for i, (name, (cls, cfg)) in enumerate(sources.items()):
        torch.manual_seed(first_seed + i)
        kwargs = dict(configs[cfg])
        if cls.endswith("ForSequenceClassification"):
            kwargs["num_labels"] = 3
        model = getattr(transformers, cls)(config_class(**kwargs)).eval()
        with torch.no_grad():
            for n, p in model.named_parameters():
                if p.dim() == 1:
                    p.normal_(1.0 if "LayerNorm.weight" in n or "layer_norm.weight" in n else 0.0, 0.1)
        folder = os.path.join(work, "src", name)
        model.save_pretrained(folder)
        with torch.no_grad():
            outputs = outputs_dict(model(**feed, output_hidden_states=True), model)
        np.savez(os.path.join(work, "ref", name + ".npz"), **outputs)
        out[name] = folder
    return out


def reference(work, output):
    """The source model's outputs an output is compared with (work/ref/<root>.npz)."""
    return dict(np.load(os.path.join(work, "ref", output["root"] + ".npz")))


def hf_tf2_check(work, output, feed, sources, outputs_dict):
    """An hf-tf2 output loaded by its TF class: the loading info, its outputs against its root's,
    the h5 layout against what TF saves for the class (work/layout/<layout_key>; not for sharded
    outputs), and a way-back output bit for bit against its source."""
    model, r = load_hf_tf(output["path"])
    r["diff"] = compare(outputs_dict(model(feed, output_hidden_states=True), model),
                        reference(work, output))
    h5 = os.path.join(output["path"], "tf_model.h5")
    if os.path.exists(h5) and output.get("layout_key"):
        r["layout"] = h5_layout(h5)
        r["layout_ref"] = h5_layout(os.path.join(work, "layout", output["layout_key"], "tf_model.h5"))
    if output["back_of"]:
        r.update(back_check(h5_arrays(os.path.join(sources[output["back_of"]], "tf_model.h5")),
                            h5_arrays(h5), same_array))
    return r


def google_tf1_files_check(output, prefix, source_prefix):
    """What a google-tf1 output's checkpoint `prefix` holds (its variables, prefix and
    global_step), and for a way-back output its variables bit for bit against the source's at
    `source_prefix` (global_step aside: 0 or the source's, checked by its own test). Dumps the
    variables to vars.npz for transformers' importer in the PyTorch process."""
    import tensorflow as tf
    from support import tf_shim
    names = dict(tf.train.list_variables(prefix))
    r = {"variables": sorted(names), "checkpoint_prefix": os.path.relpath(prefix, output["path"]),
         "global_step": int(tf.train.load_variable(prefix, "global_step"))
         if "global_step" in names else None}
    tf_shim.dump_with_tensorflow(prefix, os.path.join(output["path"], "vars.npz"))
    if output["back_of"]:
        b = tf1_vars(prefix)
        b.pop("global_step", None)
        r.update(back_check(tf1_vars(source_prefix), b, same_array))
    return r


def hf_pytorch_checks(work, outputs, feed, sources, outputs_dict):
    """{name: result} for every hf-pytorch output, loaded by its PyTorch class: the loading info,
    its outputs against its root's, and a way-back output bit for bit against its source."""
    import torch
    results = {}
    for o in outputs:
        if o["convention"] != "hf-pytorch":
            continue
        model, r = load_hf_torch(o["path"])
        with torch.no_grad():
            r["diff"] = compare(outputs_dict(model(**feed, output_hidden_states=True), model),
                                reference(work, o))
        if o["back_of"]:
            r.update(back_check(torch_state_dict(sources[o["back_of"]]), torch_state_dict(o["path"]),
                                same_torch))
        results[o["name"]] = r
    return results


def imported_by_transformers(model, cfg, load, google, *load_args):
    """`model` (PyTorch) filled by transformers' TF1 importer `load` from the google-tf1 folder
    `google` (its variables dumped to vars.npz by TensorFlow, read through tf_shim). Every
    parameter starts as NaN, so that one the importer does not set cannot pass for loaded."""
    import torch
    from support import tf_shim
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    tf_shim.install(os.path.join(google, "vars.npz"))
    try:
        load(model, cfg, os.path.join(google, "model.ckpt"), *load_args)
    finally:
        del sys.modules["tensorflow"]
    return model


def fresh_tf_model(cls, config, feed, seed=5):
    """transformers' TF class of `cls` ("TF" + cls) built on `feed` in a fresh Keras session (the
    scope names of a fresh process)."""
    import tensorflow as tf
    import transformers
    from transformers.modeling_tf_utils import keras
    keras.backend.clear_session()
    tf.random.set_seed(seed)
    model = getattr(transformers, "TF" + cls)(config)
    model(feed)
    return model


def randomize_tf_vectors(model):
    """LayerNorms and biases random too: zeros and ones hide swapped tensors."""
    import tensorflow as tf
    for w in model.weights:
        if len(w.shape) == 1:
            w.assign(tf.random.normal(w.shape, mean=1.0 if "gamma" in w.name else 0.0, stddev=0.1))


def save_tf_layouts(work, configs, layouts, config_class, feed):
    """What TF itself saves for each class and config the hf-tf2 outputs have (layouts: {key:
    (class, config key)}, 3 labels for a sequence classifier), in work/layout/<key>: the layout
    reference of hf_tf2_check."""
    for key, (cls, cfg) in layouts.items():
        kwargs = dict(configs[cfg])
        if cls.endswith("ForSequenceClassification"):
            kwargs["num_labels"] = 3
        model = fresh_tf_model(cls, config_class(**kwargs), feed)
        model.save_pretrained(os.path.join(work, "layout", key))


def tf_checks(argv, outputs_dict, checkpoint, run_google, google_sources=()):
    """The TF process's results for every hf-tf2 output (hf_tf2_check) and google-tf1 output:
    run_google(output, checkpoint prefix, {variable: shape}, feed) -> (heads, outputs) runs
    Google's graph; they are compared with the root's and the checkpoint checked
    (google_tf1_files_check). A folder's checkpoint is the one its `checkpoint` state file names,
    else `checkpoint` in it. The variables of `google_sources` are dumped for transformers'
    importer too. argv: work, outputs, inputs, sources as run_checks passes them."""
    import tensorflow as tf
    from support import tf_shim
    work, outputs, inputs, sources = argv[0], *(json.loads(a) for a in argv[1:4])
    feed = {k: np.array(v, np.int32) for k, v in inputs.items()}

    def prefix_of(folder):
        return tf.train.latest_checkpoint(folder) or os.path.join(folder, checkpoint)

    results = {}
    for o in outputs:
        if o["convention"] == "hf-tf2":
            results[o["name"]] = hf_tf2_check(work, o, feed, sources, outputs_dict)
        elif o["convention"] == "google-tf1":
            prefix = prefix_of(o["path"])
            heads, res = run_google(o, prefix, dict(tf.train.list_variables(prefix)), feed)
            source_prefix = o["back_of"] and prefix_of(sources[o["back_of"]])
            results[o["name"]] = {"heads": heads, "diff": compare(to_numpy(res), reference(work, o)),
                                  **google_tf1_files_check(o, prefix, source_prefix)}
    for name in google_sources:
        tf_shim.dump_with_tensorflow(prefix_of(sources[name]),
                                     os.path.join(sources[name], "vars.npz"))
    return results


def torch_checks(argv, outputs_dict, import_check):
    """The PyTorch process's results: hf_pytorch_checks, and import_check(google, ours, root,
    feed) -> (key, result) for each (google-tf1 folder, our hf-pytorch conversion of it, the
    source whose outputs it has) of the importer pairs. argv as run_checks passes it."""
    import torch
    work, outputs, inputs, sources, pairs = argv[0], *(json.loads(a) for a in argv[1:5])
    feed = {k: torch.tensor(v) for k, v in inputs.items()}
    return {"outputs": hf_pytorch_checks(work, outputs, feed, sources, outputs_dict),
            "importer": dict(import_check(*pair, feed) for pair in pairs)}


def unequal_to_ours(model, ours, prefix=""):
    """The tensors of our conversion `ours` that `model` (prefix before its base names) does not
    hold bit for bit."""
    got = model.state_dict()
    return sorted(k for k, v in torch_state_dict(ours).items() if not same_torch(got[prefix + k], v))
