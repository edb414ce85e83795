"""Deliberately broken copies of a model folder for the verify tests: a state-dict edit of its
model.safetensors (written back with safetensors.torch) and/or config.json changes."""
from safetensors.torch import load_file, save_file

from verify_util import copy_model_dir, edit_config


def broken_copy(src, dst, edit_state=None, **config_changes):
    dst = copy_model_dir(src, dst)
    if edit_state:
        state = load_file(dst / "model.safetensors")
        edit_state(state)
        save_file({k: v.contiguous() for k, v in state.items()}, dst / "model.safetensors",
                  metadata={"format": "pt"})
    if config_changes:
        edit_config(dst, **config_changes)
    return dst
