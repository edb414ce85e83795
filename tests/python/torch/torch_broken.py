"""Model folders for the verify tests: random models saved by transformers, deliberately broken
copies of them (a state-dict edit of model.safetensors, written back with safetensors.torch,
and/or config.json changes), and the check that verify names where a copy breaks with the figures
transformers itself sees."""
import torch
from safetensors.torch import load_file, save_file

from torch_stages import stage_errors
from verify_util import copy_model_dir, edit_config, report_sequences, verify


def saved_random_model(cls, config, path, seed):
    """`cls(config)` with its vectors random too (zeros and ones hide swapped biases and
    LayerNorms), saved to `path`."""
    torch.manual_seed(seed)
    model = cls(config)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.normal_(1.0 if "norm.weight" in n.lower() else 0.0, 0.1)
    model.save_pretrained(path)
    return path


def expect_first_failure(stages, cls, a, b, expected_stage, max_error=1e-5):
    """verify A against the broken B. transformers loads both as `cls` and runs them in float64 on
    the sequences verify reports (`stages`: torch_stages' function for the family): the first
    stage it sees differ by more than `max_error` is `expected_stage`, verify names that stage,
    and every stage up to it carries transformers' figure. Returns verify's report."""
    rc, report = verify(a, b)
    expected = stage_errors(stages, cls.from_pretrained(a), cls.from_pretrained(b),
                            report_sequences(report))
    first_oracle = next(s["name"] for s in report["stages"] if expected[s["name"]] > max_error)
    assert first_oracle == expected_stage, expected
    assert rc == 1 and report["passed"] is False
    assert report["first_failure"]["stage"] == expected_stage
    for s in report["stages"]:
        want, got = expected[s["name"]], s["max_abs_error"]
        assert abs(got - want) <= 1e-9 + 1e-7 * want, (s["name"], got, want)
        if s["name"] == expected_stage:
            break
        assert got <= 1e-12, s
    return report


def swap_layers(layer, i, j):
    """An edit for broken_copy: every tensor of layer i (names `layer`.format(i)...) trades places
    with layer j's."""
    def swap(state):
        for name in [n for n in state if n.startswith(layer.format(i))]:
            other = layer.format(j) + name[len(layer.format(i)):]
            state[name], state[other] = state[other], state[name]
    return swap


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
