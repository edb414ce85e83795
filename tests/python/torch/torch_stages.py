"""PyTorch's view of every stage tensorferry's forward pass reports, in tensorferry's stage names
(shared by the torch-side verify tests)."""
import os

os.environ.setdefault("USE_TF", "0")  # transformers must not pull TensorFlow into this process
os.environ.setdefault("USE_TORCH", "1")

import numpy as np
import torch


def gpt2_stages(model, tokens, dtype):
    """{stage: array} from transformers for one sequence, in tensorferry's stage names."""
    model = model.to(dtype).eval()
    base = model.transformer if hasattr(model, "transformer") else model
    captured, hooks = {}, []
    for i, block in enumerate(base.h):
        hooks.append(block.attn.register_forward_hook(
            lambda m, args, out, i=i: captured.__setitem__(f"attn {i}", out[0])))
        hooks.append(block.register_forward_hook(
            lambda m, args, out, i=i: captured.__setitem__(f"layer {i}", out[0])))
    with torch.no_grad():
        out = model(torch.tensor([tokens]), output_hidden_states=True)
    for h in hooks:
        h.remove()
    hs = out.hidden_states
    stages = {"embeddings": hs[0][0]}
    for i in range(len(base.h)):
        # hidden_states[i] is the input of block i; the attention sub-layer adds to it.
        stages[f"layer {i} attention"] = hs[i][0] + captured[f"attn {i}"][0]
        stages[f"layer {i}"] = captured[f"layer {i}"][0]
    stages["final layer norm"] = hs[-1][0]  # transformers applies ln_f to the last entry
    if hasattr(out, "logits"):
        stages["logits"] = out.logits[0]
    else:  # GPT2Model: the tied LM head of GPT2LMHeadModel
        with torch.no_grad():
            stages["logits"] = hs[-1][0] @ base.wte.weight.T
    return {k: v.numpy() for k, v in stages.items()}


def _encoder_blocks(base):
    """The block modules of a BERT-lineage encoder, each once (ALBERT's groups are applied to
    several layers, so their hooks fire once per layer that uses them)."""
    if hasattr(base, "transformer"):  # DistilBERT
        return list(base.transformer.layer)
    if hasattr(base.encoder, "layer"):
        return list(base.encoder.layer)
    return [layer for group in base.encoder.albert_layer_groups for layer in group.albert_layers]


def encoder_stages(model, tokens, types, dtype):
    """BERT, ALBERT, ELECTRA and DistilBERT (their base models and head classes), stage by stage:
    the blocks' outputs are captured in call order, which is layer order. DistilBERT has no token
    types (`types` is not passed) and its attention module stops at out_lin: its sub-layer's
    stage is sa_layer_norm's output."""
    model = model.to(dtype).eval()
    base = next((getattr(model, n) for n in ("bert", "albert", "electra", "distilbert")
                 if hasattr(model, n)), model)
    calls, captured, hooks = {"attention": [], "layer": []}, {}, []
    for block in _encoder_blocks(base):
        attention = getattr(block, "sa_layer_norm", None) or block.attention
        hooks.append(attention.register_forward_hook(
            lambda m, args, out: calls["attention"].append(out[0] if isinstance(out, tuple) else out)))
        hooks.append(block.register_forward_hook(lambda m, args, out: calls["layer"].append(out[0])))
    # BERT's pooler module ends in its tanh; ALBERT's is a Linear followed by pooler_activation.
    pooler = getattr(base, "pooler_activation", None)
    if pooler is None:
        pooler = getattr(base, "pooler", None)
    if pooler is not None:
        hooks.append(pooler.register_forward_hook(
            lambda m, args, out: captured.__setitem__("pooler", out)))
    with torch.no_grad():
        typed = hasattr(base.embeddings, "token_type_embeddings")
        out = model(torch.tensor([tokens]), output_hidden_states=True,
                    **({"token_type_ids": torch.tensor([types])} if typed else {}))
    for h in hooks:
        h.remove()
    stages = {"embeddings": out.hidden_states[0][0]}
    for i, (attention, layer) in enumerate(zip(calls["attention"], calls["layer"])):
        stages[f"layer {i} attention"] = attention[0]
        stages[f"layer {i}"] = layer[0]
    for k, v in captured.items():
        stages[k] = v[0]
    heads = {"prediction_logits": "mlm logits", "seq_relationship_logits": "nsp logits",
             "sop_logits": "sop logits", "start_logits": "qa start logits",
             "end_logits": "qa end logits"}
    for attr, name in heads.items():
        if getattr(out, attr, None) is not None:
            stages[name] = out[attr][0]
    if type(model).__name__.endswith("ForMaskedLM"):
        stages["mlm logits"] = out.logits[0]
    if type(model).__name__ == "ElectraForPreTraining":  # one logit a token
        stages["discriminator logits"] = out.logits[0].reshape(-1, 1)
    if type(model).__name__.endswith("ForSequenceClassification"):
        stages["classifier logits"] = out.logits[0]
    stages = {k: v.numpy() for k, v in stages.items()}
    for name in ("pooler", "nsp logits", "sop logits", "classifier logits"):  # a row a sequence
        if name in stages:
            stages[name] = stages[name].reshape(1, -1)
    for name in ("qa start logits", "qa end logits"):
        if name in stages:
            stages[name] = stages[name].reshape(-1, 1)
    return stages


bert_stages = encoder_stages


def llama_stages(model, tokens, dtype):
    """LlamaModel / MistralModel / Qwen2Model and their *ForCausalLM classes."""
    model = model.to(dtype).eval()
    base = model.model if hasattr(model, "lm_head") else model
    captured, hooks = {}, []

    def keep(name):
        return lambda m, args, out: captured.__setitem__(
            name, out[0] if isinstance(out, tuple) else out)

    hooks.append(base.embed_tokens.register_forward_hook(keep("embeddings")))
    for i, layer in enumerate(base.layers):
        hooks.append(layer.register_forward_pre_hook(
            lambda m, args, kwargs, i=i: captured.__setitem__(
                f"input {i}", args[0] if args else kwargs["hidden_states"]), with_kwargs=True))
        hooks.append(layer.self_attn.register_forward_hook(keep(f"attn {i}")))
        hooks.append(layer.register_forward_hook(keep(f"layer {i}")))
    hooks.append(base.norm.register_forward_hook(keep("final norm")))
    with torch.no_grad():
        out = model(torch.tensor([tokens]))
    for h in hooks:
        h.remove()
    stages = {"embeddings": captured["embeddings"][0], "final norm": captured["final norm"][0]}
    for i in range(len(base.layers)):
        # The attention sub-layer adds its output to the block's input (the residual).
        stages[f"layer {i} attention"] = captured[f"input {i}"][0] + captured[f"attn {i}"][0]
        stages[f"layer {i}"] = captured[f"layer {i}"][0]
    if hasattr(out, "logits"):
        stages["logits"] = out.logits[0]
    return {k: v.numpy() for k, v in stages.items()}


def reference(fn, model, sequences, dtype):
    per_seq = [fn(model, *((s,) if not isinstance(s, tuple) else s), dtype) for s in sequences]
    return {k: [p[k] for p in per_seq] for k in per_seq[0]}




def stage_errors(fn, model_a, model_b, sequences):
    """{stage: max abs difference between two models} in float64, over all sequences."""
    ra = reference(fn, model_a, sequences, torch.float64)
    rb = reference(fn, model_b, sequences, torch.float64)
    return {k: max(float(np.max(np.abs(x - y))) for x, y in zip(ra[k], rb[k])) for k in ra}
