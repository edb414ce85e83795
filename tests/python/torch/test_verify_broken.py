"""`tensorferry verify` catches deliberately broken conversions and names the first layer they
break, with the error figure the break causes (issue 5).

Each broken checkpoint is written with safetensors/torch. The expected figures come from
transformers itself: it loads A and the broken B, runs both in float64 on the token sequences
verify reports, and the per-stage differences must match verify's (first failing stage and
every error figure)."""
import json
import os

os.environ.setdefault("USE_TF", "0")
os.environ.setdefault("USE_TORCH", "1")

import pytest
import torch
from transformers import BertConfig, BertForPreTraining, GPT2Config, GPT2LMHeadModel

from conftest import run_tf
from torch_broken import broken_copy
from torch_stages import bert_stages, gpt2_stages, stage_errors
from verify_util import copy_model_dir, report_sequences, stage, verify

MAX_ERROR = 1e-5


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    torch.manual_seed(10)
    path = tmp_path_factory.mktemp("gpt2")
    GPT2LMHeadModel(GPT2Config(vocab_size=1000, n_positions=64, n_embd=32, n_layer=5, n_head=4,
                               initializer_range=0.2)).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    torch.manual_seed(11)
    path = tmp_path_factory.mktemp("bert")
    BertForPreTraining(BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=3,
                                  num_attention_heads=4, intermediate_size=37,
                                  max_position_embeddings=64, initializer_range=0.2)
                       ).save_pretrained(path)
    return path


def oracle(family, a, b, report):
    """Per-stage float64 differences between A and B as transformers computes them."""
    if family == "gpt2":
        cls, fn = GPT2LMHeadModel, gpt2_stages
        seqs = [tokens for tokens, _ in report_sequences(report)]
    else:
        cls, fn = BertForPreTraining, bert_stages
        seqs = report_sequences(report)
    return stage_errors(fn, cls.from_pretrained(a), cls.from_pretrained(b), seqs)


def check(family, a, b, expected_stage):
    rc, report = verify(a, b)
    expected = oracle(family, a, b, report)
    first_oracle = next(s["name"] for s in report["stages"] if expected[s["name"]] > MAX_ERROR)
    assert first_oracle == expected_stage, expected
    assert rc == 1
    assert report["passed"] is False
    assert report["first_failure"]["stage"] == expected_stage
    assert report["first_failure"]["status"] == "EXCEEDS"
    for s in report["stages"]:
        want = expected[s["name"]]
        got = s["max_abs_error"]
        assert abs(got - want) <= 1e-9 + 1e-7 * want, (s["name"], got, want)
        if s["name"] == expected_stage:
            break
        assert got <= 1e-12, s  # nothing before the break differs
    return report


def test_unchanged_copy_passes(gpt2_dir, bert_dir, tmp_path):
    for src in (gpt2_dir, bert_dir):
        dst = copy_model_dir(src, tmp_path / src.name)
        rc, report = verify(src, dst)
        assert rc == 0 and report["passed"], report["first_failure"]
        assert all(s["max_abs_error"] == 0 for s in report["stages"])
        assert report["first_failure"] is None


def test_missing_transpose_of_square_matrix(gpt2_dir, bert_dir, tmp_path):
    def transpose(name):
        return lambda s: s.__setitem__(name, s[name].T.clone())
    b = broken_copy(gpt2_dir, tmp_path / "g", transpose("transformer.h.2.attn.c_proj.weight"))
    check("gpt2", gpt2_dir, b, "layer 2 attention")
    b = broken_copy(bert_dir, tmp_path / "q",
                    transpose("bert.encoder.layer.1.attention.self.query.weight"))
    check("bert", bert_dir, b, "layer 1 attention")
    b = broken_copy(bert_dir, tmp_path / "o",
                    transpose("bert.encoder.layer.0.attention.output.dense.weight"))
    check("bert", bert_dir, b, "layer 0 attention")


def test_swapped_query_and_key(gpt2_dir, bert_dir, tmp_path):
    def swap_gpt2(s):
        for name in ("transformer.h.3.attn.c_attn.weight", "transformer.h.3.attn.c_attn.bias"):
            q, k, v = s[name].chunk(3, dim=-1)
            s[name] = torch.cat([k, q, v], dim=-1)
    check("gpt2", gpt2_dir, broken_copy(gpt2_dir, tmp_path / "g", swap_gpt2), "layer 3 attention")

    def swap_bert(s):
        for part in ("weight", "bias"):
            q = f"bert.encoder.layer.1.attention.self.query.{part}"
            k = f"bert.encoder.layer.1.attention.self.key.{part}"
            s[q], s[k] = s[k], s[q]
    check("bert", bert_dir, broken_copy(bert_dir, tmp_path / "b", swap_bert), "layer 1 attention")


def test_wrong_layer_norm_epsilon_in_written_config(gpt2_dir, bert_dir, tmp_path):
    b = broken_copy(gpt2_dir, tmp_path / "g", layer_norm_epsilon=1e-6)
    report = check("gpt2", gpt2_dir, b, "layer 0 attention")
    assert any("LayerNorm epsilon" in n for n in report["notes"])
    b = broken_copy(bert_dir, tmp_path / "b", layer_norm_eps=1e-5)
    check("bert", bert_dir, b, "embeddings")


def test_weights_taken_from_another_layer(gpt2_dir, bert_dir, tmp_path):
    def copy_layer(prefix, src, dst):
        def edit(s):
            for name in list(s):
                if name.startswith(f"{prefix}{src}."):
                    s[f"{prefix}{dst}." + name[len(f"{prefix}{src}."):]] = s[name].clone()
        return edit
    b = broken_copy(gpt2_dir, tmp_path / "g", copy_layer("transformer.h.", 2, 3))
    check("gpt2", gpt2_dir, b, "layer 3 attention")
    b = broken_copy(bert_dir, tmp_path / "b", copy_layer("bert.encoder.layer.", 1, 2))
    check("bert", bert_dir, b, "layer 2 attention")


def test_f16_round_trip_of_one_tensor(gpt2_dir, bert_dir, tmp_path):
    def round_trip(name):
        return lambda s: s.__setitem__(name, s[name].half().float())
    b = broken_copy(gpt2_dir, tmp_path / "g", round_trip("transformer.h.1.mlp.c_fc.weight"))
    report = check("gpt2", gpt2_dir, b, "layer 1")
    figure = stage(report, "layer 1")["max_abs_error"]
    assert 1e-5 < figure < 1e-2
    # The same file passes a bound above the figure it causes.
    rc, loose = verify(gpt2_dir, b, "--max-error", "1")
    assert rc == 0 and loose["passed"]

    b = broken_copy(bert_dir, tmp_path / "e", round_trip("bert.embeddings.word_embeddings.weight"))
    check("bert", bert_dir, b, "embeddings")
    # A head-only break: the encoder is exact, the MLM head is not.
    b = broken_copy(bert_dir, tmp_path / "h", round_trip("cls.predictions.transform.dense.weight"))
    report = check("bert", bert_dir, b, "mlm logits")
    assert stage(report, "nsp logits")["max_abs_error"] == 0


def test_missing_and_misshapen_tensors(gpt2_dir, bert_dir, tmp_path):
    b = broken_copy(gpt2_dir, tmp_path / "g", lambda s: s.pop("transformer.h.4.ln_2.bias"))
    rc, report = verify(gpt2_dir, b)
    assert rc == 1
    assert report["first_failure"]["stage"] == "layer 4"
    assert report["first_failure"]["status"] == "CANNOT RUN"
    assert "h.4.ln_2.bias" in report["first_failure"]["note"]
    assert stage(report, "logits")["status"] == "not reached"

    name = "bert.encoder.layer.2.intermediate.dense.weight"  # [37, 32]: a transpose shows in shape
    b = broken_copy(bert_dir, tmp_path / "b", lambda s: s.__setitem__(name, s[name].T.clone()))
    rc, report = verify(bert_dir, b)
    assert rc == 1 and report["first_failure"]["stage"] == "layer 2"
    assert "[32, 37]" in report["first_failure"]["note"]
    assert "[37, 32]" in report["first_failure"]["note"]


def test_missing_head(bert_dir, tmp_path):
    def drop_nsp(s):
        s.pop("cls.seq_relationship.weight")
        s.pop("cls.seq_relationship.bias")
    b = broken_copy(bert_dir, tmp_path / "b", drop_nsp)
    rc, report = verify(bert_dir, b)
    assert rc == 1 and report["first_failure"]["stage"] == "nsp logits"
    assert report["first_failure"]["status"] == "MISSING"
    rc, report = verify(bert_dir, b, "--allow-missing-heads")
    assert rc == 0


def test_table_output_user_tokens_and_exit_codes(gpt2_dir, tmp_path):
    b = broken_copy(gpt2_dir, tmp_path / "g",
                    lambda s: s.__setitem__("transformer.h.2.attn.c_proj.weight",
                                            s["transformer.h.2.attn.c_proj.weight"].T.clone()))
    proc = run_tf("verify", gpt2_dir, b, check=False)
    assert proc.returncode == 1
    assert 'FAILED: first divergence at "layer 2 attention" (layer 2)' in proc.stdout
    assert "transformer.h.2.attn.c_proj.weight" in proc.stdout
    proc = run_tf("verify", gpt2_dir, gpt2_dir, "--tokens", "1,2,3", "--tokens", "999",
                  "--no-fixed-tokens", "--json", "--always-forward")
    report = json.loads(proc.stdout)
    assert [s["tokens"] for s in report["sequences"]] == [[1, 2, 3], [999]]
    assert stage(report, "logits")["rows"] == 4
    assert run_tf("verify", gpt2_dir, gpt2_dir, "--tokens", "1000", check=False).returncode == 2
    assert run_tf("verify", gpt2_dir, gpt2_dir, "--tokens", "x", check=False).returncode == 2
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    assert run_tf("verify", gpt2_dir, junk, check=False).returncode == 3
    no_config = tmp_path / "no_config"
    no_config.mkdir()
    (no_config / "model.safetensors").write_bytes((gpt2_dir / "model.safetensors").read_bytes())
    proc = run_tf("verify", gpt2_dir, no_config, check=False)
    assert proc.returncode == 3 and "config.json" in proc.stderr
