"""The llama family (Llama, Mistral, Qwen2) against real transformers (issue 14).

Tiny random LlamaForCausalLM (grouped-query attention, untied head, rope_scaling llama3; and
linear scaling with q/k/v/o and MLP biases, a head_dim other than width/heads and a tied head),
MistralForCausalLM (one key/value head, a sliding window shorter than the sequences) and
Qwen2ForCausalLM (q/k/v biases, tied head) are saved with save_pretrained as the Hub stores them:
sharded bf16 safetensors. Then:

* tensorferry's reference forward pass agrees with transformers' float32 forward within 1e-5 at
  every stage (embeddings, each layer's attention and block, the final norm, the logits);
* `tensorferry verify` passes the model against itself and against its hf-pytorch conversions
  (--dtype f32 / bf16 / f16, --shard-size), which transformers loads without missing or
  unexpected keys; casts are exact where the values allow it and re-sharding is bit-exact;
* broken conversions (two layers swapped, a transposed kernel, a wrong rope_theta, the q/k rows
  permuted into llama.cpp's interleaved order) are caught at the stage where transformers itself,
  in float64, first sees them diverge, with the same error figures.
"""
import json
import os

os.environ.setdefault("USE_TF", "0")  # transformers must not pull TensorFlow into this process
os.environ.setdefault("USE_TORCH", "1")

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

from conftest import run_tf
from torch_broken import broken_copy
from torch_stages import llama_stages, reference, stage_errors
from verify_util import compare_stages, forward, report_sequences, verify

SEQS = [[5, 299, 0, 17, 120, 42, 7], [1], list(range(100, 140))]
MAX_ERROR = 1e-5
COMMON = dict(vocab_size=300, max_position_embeddings=64, initializer_range=0.2)
CASES = {
    "llama_gqa_llama3": (LlamaForCausalLM, LlamaConfig, dict(
        hidden_size=32, intermediate_size=40, num_hidden_layers=3, num_attention_heads=4,
        num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=False,
        # original_max_position_embeddings 16: one frequency is blended, the others slowed down.
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16})),
    "llama_linear_biases_tied": (LlamaForCausalLM, LlamaConfig, dict(
        hidden_size=32, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, head_dim=16, rope_scaling={"type": "linear", "factor": 2.0},
        attention_bias=True, mlp_bias=True, tie_word_embeddings=True, rms_norm_eps=1e-3)),
    "mistral_window": (MistralForCausalLM, MistralConfig, dict(
        hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, sliding_window=6)),
    "qwen2_biases": (Qwen2ForCausalLM, Qwen2Config, dict(
        hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=3,
        num_key_value_heads=1, rope_theta=1000000.0, tie_word_embeddings=True)),
}


def stage_names(layers, logits=True):
    names = ["embeddings", "final norm"] + (["logits"] if logits else [])
    for i in range(layers):
        names += [f"layer {i} attention", f"layer {i}"]
    return names


def make_model(case):
    cls, config_cls, kw = CASES[case]
    torch.manual_seed(sorted(CASES).index(case) + 20)
    model = cls(config_cls(**COMMON, **kw)).eval()
    with torch.no_grad():  # RMSNorm scales and biases random too: ones and zeros hide swaps
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.normal_(0.0 if name.endswith("bias") else 1.0, 0.1)
    return model


@pytest.fixture(scope="module")
def hub_folders(tmp_path_factory):
    """{case: folder} written as the Hub stores them: bf16, sharded safetensors."""
    folders = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(case)
        make_model(case).to(torch.bfloat16).save_pretrained(folder, max_shard_size="20KB")
        index = json.loads((folder / "model.safetensors.index.json").read_text())
        assert len(set(index["weight_map"].values())) > 1
        folders[case] = folder
    return folders


def load_fp32(cls, folder):
    model, info = cls.from_pretrained(folder, torch_dtype=torch.float32,
                                      output_loading_info=True)
    assert not any(info.values()), info  # no missing, unexpected or mismatched keys
    return model.eval()


def all_tensors(folder):
    tensors = {}
    for f in sorted(folder.glob("*.safetensors")):
        tensors.update(load_file(f))
    return tensors


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_matches_transformers(hub_folders, case):
    cls, _, kw = CASES[case]
    folder = hub_folders[case]
    ours, doc = forward(folder, SEQS)
    assert doc["model"]["unused_weights"] == []
    assert doc["model"]["norm"] == "RMSNorm"
    assert set(ours) == set(stage_names(kw["num_hidden_layers"])), sorted(ours)
    model = load_fp32(cls, folder)
    errors32 = compare_stages(ours, reference(llama_stages, model, SEQS, torch.float32),
                              MAX_ERROR)
    assert set(errors32) == set(ours)
    # Even a float64 transformers model keeps two float32 islands: RMSNorm upcasts to float32,
    # and the rotary cos/sin tables are float32 (tensorferry builds those the same way). With
    # the norm in float64 and the tables' cosines correctly rounded (torch's vectorised cosf is 1
    # ulp off for some angles), everything agrees to float64 rounding.
    without_float32_islands(model)
    compare_stages(ours, reference(llama_stages, model, SEQS, torch.float64), 1e-9)


def without_float32_islands(model):
    """RMSNorm evaluated in the model's dtype (transformers' formula without its float32
    upcast), and the rotary embedding as transformers computes it (float32 frequencies, angles
    and tables) with cos and sin evaluated in float64 and rounded to float32."""
    base = model.model if hasattr(model, "lm_head") else model
    for module in base.modules():
        if type(module).__name__.endswith("RMSNorm"):
            def norm(x, module=module):
                variance = x.pow(2).mean(-1, keepdim=True)
                return module.weight * (x * torch.rsqrt(variance + module.variance_epsilon))
            module.forward = norm
    rotary = base.rotary_emb

    def forward(x, position_ids):
        inv_freq = rotary.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        freqs = (inv_freq @ position_ids[:, None, :].float()).transpose(1, 2)
        angles = torch.cat((freqs, freqs), dim=-1).double()
        scale = rotary.attention_scaling
        return ((angles.cos().float() * scale).to(x.dtype),
                (angles.sin().float() * scale).to(x.dtype))
    rotary.forward = forward


def test_tests_can_fail(hub_folders):
    """The comparison sees the rope scaling, the window and the epsilon: transformers with
    another of each is far outside 1e-5 at layer 0."""
    for case, change in (("llama_gqa_llama3", dict(rope_scaling=None)),
                         ("mistral_window", dict(sliding_window=None)),
                         ("qwen2_biases", dict(rms_norm_eps=1e-2))):
        cls, config_cls, kw = CASES[case]
        ours, _ = forward(hub_folders[case], SEQS)
        other = cls(config_cls(**COMMON, **{**kw, **change})).eval()
        other.load_state_dict(load_fp32(cls, hub_folders[case]).state_dict())
        theirs = reference(llama_stages, other, SEQS, torch.float32)
        worst = max(np.max(np.abs(a - b)) for a, b in zip(ours["layer 0 attention"],
                                                           theirs["layer 0 attention"]))
        assert worst > 1e-4, (case, change, worst)


def converted(folder, out, *flags):
    proc = run_tf("convert", folder, out, "--to", "hf-pytorch", "--json", *flags)
    return json.loads(proc.stdout)


@pytest.mark.parametrize("case", sorted(CASES))
def test_verify_and_hf_pytorch_conversions(hub_folders, tmp_path, case):
    cls, _, kw = CASES[case]
    folder = hub_folders[case]
    rc, report = verify(folder, folder, "--always-forward")
    assert rc == 0 and report["passed"] and report["proof"] == "forward"
    assert all(s["max_abs_error"] == 0 for s in report["stages"])
    assert {s["name"] for s in report["stages"]} == set(stage_names(kw["num_hidden_layers"]))
    source = all_tensors(folder)
    reference_logits = load_fp32(cls, folder)(torch.tensor([SEQS[0]])).logits.detach()

    # bf16 -> f32 is exact: verify sees no difference, transformers computes the same logits.
    f32 = tmp_path / "f32"
    converted(folder, f32, "--dtype", "f32")
    rc, report = verify(folder, f32)
    assert rc == 0 and max(s["max_abs_error"] for s in report["stages"]) == 0
    out = all_tensors(f32)
    assert set(out) == set(source)
    assert all(out[k].dtype == torch.float32 and torch.equal(out[k].bfloat16(), source[k])
               for k in source)
    assert json.loads((f32 / "config.json").read_text())["dtype"] == "float32"
    logits = load_fp32(cls, f32)(torch.tensor([SEQS[0]])).logits.detach()
    assert torch.equal(logits, reference_logits)

    # f32 -> bf16 gives back the Hub's bytes; re-sharding keeps every byte.
    bf16 = tmp_path / "bf16"
    converted(f32, bf16, "--dtype", "bf16", "--shard-size", "30KB")
    assert (bf16 / "model.safetensors.index.json").exists()
    out = all_tensors(bf16)
    assert set(out) == set(source)
    assert all(out[k].dtype == torch.bfloat16 and torch.equal(out[k], source[k]) for k in source)
    resharded = tmp_path / "resharded"
    report = converted(folder, resharded, "--shard-size", "50KB")
    assert report["verify"]["proof"] == "identical-weights" and report["verify"]["passed"]
    out = all_tensors(resharded)
    assert all(torch.equal(out[k], source[k]) for k in source) and set(out) == set(source)
    load_fp32(cls, resharded)

    # f16: bf16 values inside f16's normal range convert exactly; transformers loads the result
    # and computes what it computed on the source within the cast's bound.
    f16 = tmp_path / "f16"
    converted(folder, f16, "--dtype", "f16")
    out = all_tensors(f16)
    assert all(out[k].dtype == torch.float16 for k in source)
    logits = load_fp32(cls, f16)(torch.tensor([SEQS[0]])).logits.detach()
    assert float((logits - reference_logits).abs().max()) < 1e-2


# --- Broken conversions -----------------------------------------------------------------------

BROKEN_CASE = "llama_gqa_llama3"


@pytest.fixture(scope="module")
def f32_folder(hub_folders, tmp_path_factory):
    folder = tmp_path_factory.mktemp("f32") / "model"
    converted(hub_folders[BROKEN_CASE], folder, "--dtype", "f32")
    return folder


def check(a, b, expected_stage):
    """verify names `expected_stage` first, as transformers in float64 does, with its figures."""
    rc, report = verify(a, b)
    seqs = [tokens for tokens, _ in report_sequences(report)]
    expected = stage_errors(llama_stages, LlamaForCausalLM.from_pretrained(a),
                            LlamaForCausalLM.from_pretrained(b), seqs)
    first_oracle = next(s["name"] for s in report["stages"] if expected[s["name"]] > MAX_ERROR)
    assert first_oracle == expected_stage, expected
    assert rc == 1 and report["passed"] is False
    assert report["first_failure"]["stage"] == expected_stage
    assert report["first_failure"]["status"] == "EXCEEDS"
    for s in report["stages"]:
        want, got = expected[s["name"]], s["max_abs_error"]
        assert abs(got - want) <= 1e-9 + 1e-7 * want, (s["name"], got, want)
        if s["name"] == expected_stage:
            break
        assert got <= 1e-12, s  # nothing before the break differs
    return report


def test_swapped_layers(f32_folder, tmp_path):
    def swap(state):
        for name in [n for n in state if n.startswith("model.layers.1.")]:
            other = name.replace("layers.1.", "layers.2.")
            state[name], state[other] = state[other], state[name]
    check(f32_folder, broken_copy(f32_folder, tmp_path / "b", swap), "layer 1 attention")


def test_transposed_kernel(f32_folder, tmp_path):
    name = "model.layers.2.self_attn.o_proj.weight"  # [32, 32]: a transpose keeps the shape
    b = broken_copy(f32_folder, tmp_path / "b", lambda s: s.__setitem__(name, s[name].T.clone()))
    check(f32_folder, b, "layer 2 attention")


def test_wrong_rope_theta(f32_folder, tmp_path):
    report = check(f32_folder, broken_copy(f32_folder, tmp_path / "b", rope_theta=10000.0),
                   "layer 0 attention")
    assert any("configs differ: rotary embeddings" in n for n in report["notes"]), report["notes"]


def test_q_and_k_rows_in_interleaved_rotary_order(f32_folder, tmp_path):
    """The row permutation llama.cpp applies to q/k (pairs (2i, 2i+1) instead of (i, i + d/2)),
    left in an hf-pytorch file: the weights are all there, only the rotation pairs change."""
    cfg = json.loads((f32_folder / "config.json").read_text())
    head_dim = cfg["head_dim"]

    def interleave(w, heads):
        return (w.reshape(heads, 2, head_dim // 2, w.shape[1]).swapaxes(1, 2)
                .reshape(w.shape).clone())

    def permute(state):
        for proj, heads in (("q_proj", cfg["num_attention_heads"]),
                            ("k_proj", cfg["num_key_value_heads"])):
            name = f"model.layers.1.self_attn.{proj}.weight"
            state[name] = interleave(state[name], heads)
    check(f32_folder, broken_copy(f32_folder, tmp_path / "b", permute), "layer 1 attention")
