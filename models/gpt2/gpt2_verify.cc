#include "models/gpt2/gpt2_verify.h"

#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace gpt2 {
namespace {

using enum Use;

// GPT-2. Sources: openai/gpt-2 src/model.py (variable scopes, conv1d with w [1, nx, nf]),
// transformers modeling_gpt2.py (Conv1D weight [nx, nf], y = x·W + b) and modeling_tf_gpt2.py
// (TFConv1D: weight [nx, nf], bias [1, nf]; names checked against tf_model.h5 files written by
// transformers 4.57 / TF 2.15, which name the token table wte/embeddings, older ones wte/weight).
const std::vector<ParamSpec> kHfPytorch = {
    {kWte, false, "wte.weight", kTable},
    {kWpe, false, "wpe.weight", kTable},
    {kLn1Scale, true, "h.{i}.ln_1.weight", kVector},
    {kLn1Shift, true, "h.{i}.ln_1.bias", kVector},
    {kAttnWeight, true, "h.{i}.attn.c_attn.weight", kConv1D},
    {kAttnBias, true, "h.{i}.attn.c_attn.bias", kVector},
    {kAttnProjWeight, true, "h.{i}.attn.c_proj.weight", kConv1D},
    {kAttnProjBias, true, "h.{i}.attn.c_proj.bias", kVector},
    {kLn2Scale, true, "h.{i}.ln_2.weight", kVector},
    {kLn2Shift, true, "h.{i}.ln_2.bias", kVector},
    {kFcWeight, true, "h.{i}.mlp.c_fc.weight", kConv1D},
    {kFcBias, true, "h.{i}.mlp.c_fc.bias", kVector},
    {kMlpProjWeight, true, "h.{i}.mlp.c_proj.weight", kConv1D},
    {kMlpProjBias, true, "h.{i}.mlp.c_proj.bias", kVector},
    {kLnfScale, false, "ln_f.weight", kVector},
    {kLnfShift, false, "ln_f.bias", kVector},
    {kLmHead, false, "lm_head.weight", kLinear},  // read only when not tied to wte
};

const std::vector<ParamSpec> kHfTf2 = {
    {kWte, false, "transformer/wte/embeddings|transformer/wte/weight", kTable},
    {kWpe, false, "transformer/wpe/embeddings", kTable},
    {kLn1Scale, true, "transformer/h_._{i}/ln_1/gamma", kVector},
    {kLn1Shift, true, "transformer/h_._{i}/ln_1/beta", kVector},
    {kAttnWeight, true, "transformer/h_._{i}/attn/c_attn/weight", kConv1D},
    {kAttnBias, true, "transformer/h_._{i}/attn/c_attn/bias", kRowVector},
    {kAttnProjWeight, true, "transformer/h_._{i}/attn/c_proj/weight", kConv1D},
    {kAttnProjBias, true, "transformer/h_._{i}/attn/c_proj/bias", kRowVector},
    {kLn2Scale, true, "transformer/h_._{i}/ln_2/gamma", kVector},
    {kLn2Shift, true, "transformer/h_._{i}/ln_2/beta", kVector},
    {kFcWeight, true, "transformer/h_._{i}/mlp/c_fc/weight", kConv1D},
    {kFcBias, true, "transformer/h_._{i}/mlp/c_fc/bias", kRowVector},
    {kMlpProjWeight, true, "transformer/h_._{i}/mlp/c_proj/weight", kConv1D},
    {kMlpProjBias, true, "transformer/h_._{i}/mlp/c_proj/bias", kRowVector},
    {kLnfScale, false, "transformer/ln_f/gamma", kVector},
    {kLnfShift, false, "transformer/ln_f/beta", kVector},
};

const std::vector<ParamSpec> kOpenAi = {
    {kWte, false, "model/wte", kTable},
    {kWpe, false, "model/wpe", kTable},
    {kLn1Scale, true, "model/h{i}/ln_1/g", kVector},
    {kLn1Shift, true, "model/h{i}/ln_1/b", kVector},
    {kAttnWeight, true, "model/h{i}/attn/c_attn/w", kOpenAiConv1D},
    {kAttnBias, true, "model/h{i}/attn/c_attn/b", kVector},
    {kAttnProjWeight, true, "model/h{i}/attn/c_proj/w", kOpenAiConv1D},
    {kAttnProjBias, true, "model/h{i}/attn/c_proj/b", kVector},
    {kLn2Scale, true, "model/h{i}/ln_2/g", kVector},
    {kLn2Shift, true, "model/h{i}/ln_2/b", kVector},
    {kFcWeight, true, "model/h{i}/mlp/c_fc/w", kOpenAiConv1D},
    {kFcBias, true, "model/h{i}/mlp/c_fc/b", kVector},
    {kMlpProjWeight, true, "model/h{i}/mlp/c_proj/w", kOpenAiConv1D},
    {kMlpProjBias, true, "model/h{i}/mlp/c_proj/b", kVector},
    {kLnfScale, false, "model/ln_f/g", kVector},
    {kLnfShift, false, "model/ln_f/b", kVector},
};

ModelConfig read_hf_gpt2(const ConfigReader& r) {
  ModelConfig c;
  r.expect_text("model_type", "gpt2");
  // GPT2Config defaults and attribute_map aliases.
  c.vocab_size = r.integer({"vocab_size"}, 50257);
  c.max_positions = r.integer({"n_positions", "max_position_embeddings"}, 1024);
  c.hidden = r.integer({"n_embd", "hidden_size"}, 768);
  c.layers = r.integer({"n_layer", "num_hidden_layers"}, 12);
  c.heads = r.integer({"n_head", "num_attention_heads"}, 12);
  c.inner = r.is_null_or_absent("n_inner") ? 4 * c.hidden : r.integer({"n_inner"}, std::nullopt);
  c.activation_name = r.text("activation_function", "gelu_new");
  c.activation = r.activation(c.activation_name);
  c.layer_norm_eps = r.number("layer_norm_epsilon", 1e-5);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
  if (!r.boolean("scale_attn_weights", true)) r.unsupported("scale_attn_weights = false");
  if (r.boolean("scale_attn_by_inverse_layer_idx", false))
    r.unsupported("scale_attn_by_inverse_layer_idx = true");
  if (r.boolean("add_cross_attention", false)) r.unsupported("add_cross_attention = true");
  r.check_heads(c);
  return c;
}

ModelConfig read_openai_hparams(const ConfigReader& r) {
  ModelConfig c;
  // model.py default_hparams(): n_vocab has no usable default (0).
  c.vocab_size = r.integer({"n_vocab"}, std::nullopt);
  c.max_positions = r.integer({"n_ctx"}, 1024);
  c.hidden = r.integer({"n_embd"}, 768);
  c.heads = r.integer({"n_head"}, 12);
  c.layers = r.integer({"n_layer"}, 12);
  c.inner = 4 * c.hidden;   // mlp(x, 'mlp', nx*4)
  c.layer_norm_eps = 1e-5;  // norm(..., epsilon=1e-5)
  c.activation = Activation::kGeluTanh;
  c.activation_name = "gelu (tanh form, fixed in model.py)";
  c.tie_word_embeddings = true;  // logits = h·wteᵀ
  r.check_heads(c);
  return c;
}

ModelConfig read_config(Convention convention, const ConfigReader& r) {
  return convention == Convention::kOpenAiTf1 ? read_openai_hparams(r) : read_hf_gpt2(r);
}

bool known_extra(Convention convention, const std::string& key) {
  // Causal-mask buffers of transformers < 4.31, and the LM head tied to wte.
  return convention == Convention::kHfPytorch &&
         (key.ends_with(".attn.bias") || key.ends_with(".attn.masked_bias") ||
          key == "lm_head.weight");
}

}  // namespace
}  // namespace gpt2

const Family& gpt2_verify_family() {
  static const Family family = {
      .name = "gpt2",
      .tables = {&gpt2::kHfPytorch, &gpt2::kHfTf2, &gpt2::kOpenAi, nullptr},
      .token_table = gpt2::kWte,
      .hf_base_prefix = "transformer.",
      .config_files = {{{"config.json"}, {"config.json"}, {"hparams.json"}, {}}},
      .read_config = gpt2::read_config,
      .known_extra = gpt2::known_extra,
      .output_stages = {"final layer norm", "logits"},
      .run = gpt2::run,
  };
  return family;
}

}  // namespace tensorferry::verify
