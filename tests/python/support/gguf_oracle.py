"""llama.cpp as the oracle for tensorferry's GGUF output: its converter run on the same folder,
gguf-py reading both files, llama-cpp-python running both."""
import subprocess
import sys

import numpy as np

from support.llama_cpp_oracle import import_gguf, llama_cpp_dir

# Keys that say where a file came from (model card, folder name, parameter count label), which
# the converter derives from things tensorferry does not read; everything else must match.
PROVENANCE = ("general.name", "general.basename", "general.size_label", "general.finetune",
              "general.version", "general.organization", "general.description",
              "general.license", "general.tags", "general.languages", "general.datasets")

# The converter recognises a BPE pre-tokenizer by hashing what the tokenizer makes of a test
# text; a tiny test vocabulary has no known hash, so the run names the pre-tokenizer the family's
# tokenizer.json configures (the same value tensorferry writes). Nothing else is changed. One
# process runs the converter once per output type: importing torch and the converter costs more
# than converting a tiny model.
RUN_CONVERTER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import convert_hf_to_gguf as c
runs = sys.argv[2:]
for pre, folder, outtype, outfile in zip(runs[::4], runs[1::4], runs[2::4], runs[3::4]):
    c.TextModel.get_vocab_base_pre = lambda self, tokenizer, pre=pre: pre
    sys.argv = ["convert_hf_to_gguf.py", folder, "--outfile", outfile, "--outtype", outtype]
    c.main()
"""


def run_converters(jobs):
    """convert_hf_to_gguf.py for every (folder, outtype, outfile, pre) of `jobs`, in one process."""
    runs = [str(arg) for folder, outtype, outfile, pre in jobs
            for arg in (pre, folder, outtype, outfile)]
    proc = subprocess.run([sys.executable, "-c", RUN_CONVERTER, str(llama_cpp_dir()), *runs],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"convert_hf_to_gguf.py failed:\n{proc.stderr[-6000:]}")


def field_value(field, gguf):
    """A metadata value as (type, python value) for comparison."""
    types = [gguf.GGUFValueType(t).name for t in field.types]
    return types, field.contents()


def read_gguf(path):
    gguf = import_gguf()
    reader = gguf.GGUFReader(path)
    meta = {name: field_value(f, gguf) for name, f in reader.fields.items()
            if not name.startswith("GGUF.") and name not in PROVENANCE}
    tensors = {t.name: (t.tensor_type.name, [int(d) for d in t.shape], t.data.tobytes())
               for t in reader.tensors}
    return meta, tensors


def assert_same_gguf(ours, theirs):
    meta_ours, tensors_ours = read_gguf(ours)
    meta_theirs, tensors_theirs = read_gguf(theirs)
    assert sorted(meta_ours) == sorted(meta_theirs), (
        f"only ours: {sorted(set(meta_ours) - set(meta_theirs))}, "
        f"only the converter's: {sorted(set(meta_theirs) - set(meta_ours))}")
    for key in meta_theirs:
        assert meta_ours[key] == meta_theirs[key], (key, meta_ours[key], meta_theirs[key])
    assert sorted(tensors_ours) == sorted(tensors_theirs)
    for name, (qtype, shape, data) in tensors_theirs.items():
        assert tensors_ours[name][0] == qtype, name
        assert tensors_ours[name][1] == shape, name
        assert tensors_ours[name][2] == data, f"{name}: tensor data differs"
    return meta_ours, tensors_ours


def llama_cpp_logits(path, tokens):
    """Logits llama.cpp computes for every position of `tokens`."""
    from llama_cpp import Llama
    model = Llama(model_path=str(path), n_ctx=len(tokens) + 8, logits_all=True, verbose=False,
                  n_threads=1, seed=0)
    model.eval(tokens)
    logits = np.array(model.scores[:len(tokens)], dtype=np.float32)
    model.close()
    return logits


BOUNDS = {"f32": 1e-3, "f16": 5e-2, "bf16": 2e-1, "q8_0": 2e-1}


def assert_llama_cpp_agrees(ours, theirs, tokens, hf_logits, label, outtype):
    """llama.cpp computes from our file exactly the logits it computes from the converter's, and
    those are close to transformers' (so llama.cpp really ran the model, it did not only load
    it). Prints both errors against transformers."""
    err_ours = float(np.abs(llama_cpp_logits(ours, tokens) - hf_logits).max())
    err_theirs = float(np.abs(llama_cpp_logits(theirs, tokens) - hf_logits).max())
    print(f"{label} {outtype}: llama.cpp vs transformers, max abs error: ours {err_ours:.3e}, "
          f"converter's {err_theirs:.3e}")
    assert err_ours == err_theirs
    assert err_ours < BOUNDS[outtype]


def assert_same_safetensors(original_path, back_path):
    """Same names, dtypes and bytes. A folder stands for all its safetensors files (shards)."""
    import torch
    from safetensors.torch import load_file

    def load(path):
        files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
        return {k: v for f in files for k, v in load_file(f).items()}
    original, back = load(original_path), load(back_path)
    assert sorted(back) == sorted(original)
    for key, t in original.items():
        assert back[key].dtype == t.dtype, key
        assert torch.equal(back[key].view(torch.uint8), t.view(torch.uint8)), key
