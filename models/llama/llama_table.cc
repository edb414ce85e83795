// The LLaMA-family table. Shape symbols: V vocab_size, E hidden_size, I intermediate_size,
// A the query width (num_attention_heads · head_dim), K the key/value width
// (num_key_value_heads · head_dim; smaller than A under grouped-query attention). Verified
// against transformers 4.57.6 (LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM
// save_pretrained, modeling_llama.py / modeling_mistral.py / modeling_qwen2.py); see
// docs/conversions.md.
//
// Every projection is a torch.nn.Linear stored [out, in]. Llama, Mistral and Qwen2 name their
// parameters identically; they differ only in which biases exist (Qwen2: q/k/v always; Llama:
// q/k/v/o with attention_bias, the MLP with mlp_bias; Mistral: none), which the groups express.
#include "models/llama/llama.h"

namespace tensorferry {

namespace {
constexpr Layout kSame = Layout::kSame;
}  // namespace

const std::vector<GroupInfo>& LlamaFamily::groups() const {
  static const std::vector<GroupInfo> groups = {
      {"base", "decoder (embeddings, blocks, final RMSNorm)"},
      {"qkv_bias", "q/k/v projection biases (Qwen2, or Llama with attention_bias)"},
      {"o_bias", "attention output projection bias (Llama with attention_bias)"},
      {"mlp_bias", "MLP projection biases (Llama with mlp_bias)"},
      {"untied_head",
       "an LM head that is not tied to embed_tokens (lm_head.weight, tie_word_embeddings false)"},
  };
  return groups;
}

const std::vector<ParamRow>& LlamaFamily::params() const {
  // Columns in Convention order: hf-pytorch only.
#define LAYER "{base}layers.{i}."
  // One row per parameter, kept as a table, in the order of the PyTorch state dict.
  // clang-format off
  static const std::vector<ParamRow> rows = {
      {"base", false, "embed_tokens.weight", "V,E",
       {{{"{base}embed_tokens.weight", "V,E", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.self_attn.q_proj.weight", "A,E",
       {{{LAYER "self_attn.q_proj.weight", "A,E", kSame}, {}, {}, {}}}},
      {"qkv_bias", true, "layers.{i}.self_attn.q_proj.bias", "A",
       {{{LAYER "self_attn.q_proj.bias", "A", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.self_attn.k_proj.weight", "K,E",
       {{{LAYER "self_attn.k_proj.weight", "K,E", kSame}, {}, {}, {}}}},
      {"qkv_bias", true, "layers.{i}.self_attn.k_proj.bias", "K",
       {{{LAYER "self_attn.k_proj.bias", "K", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.self_attn.v_proj.weight", "K,E",
       {{{LAYER "self_attn.v_proj.weight", "K,E", kSame}, {}, {}, {}}}},
      {"qkv_bias", true, "layers.{i}.self_attn.v_proj.bias", "K",
       {{{LAYER "self_attn.v_proj.bias", "K", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.self_attn.o_proj.weight", "E,A",
       {{{LAYER "self_attn.o_proj.weight", "E,A", kSame}, {}, {}, {}}}},
      {"o_bias", true, "layers.{i}.self_attn.o_proj.bias", "E",
       {{{LAYER "self_attn.o_proj.bias", "E", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.mlp.gate_proj.weight", "I,E",
       {{{LAYER "mlp.gate_proj.weight", "I,E", kSame}, {}, {}, {}}}},
      {"mlp_bias", true, "layers.{i}.mlp.gate_proj.bias", "I",
       {{{LAYER "mlp.gate_proj.bias", "I", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.mlp.up_proj.weight", "I,E",
       {{{LAYER "mlp.up_proj.weight", "I,E", kSame}, {}, {}, {}}}},
      {"mlp_bias", true, "layers.{i}.mlp.up_proj.bias", "I",
       {{{LAYER "mlp.up_proj.bias", "I", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.mlp.down_proj.weight", "E,I",
       {{{LAYER "mlp.down_proj.weight", "E,I", kSame}, {}, {}, {}}}},
      {"mlp_bias", true, "layers.{i}.mlp.down_proj.bias", "E",
       {{{LAYER "mlp.down_proj.bias", "E", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.input_layernorm.weight", "E",
       {{{LAYER "input_layernorm.weight", "E", kSame}, {}, {}, {}}}},
      {"base", true, "layers.{i}.post_attention_layernorm.weight", "E",
       {{{LAYER "post_attention_layernorm.weight", "E", kSame}, {}, {}, {}}}},
      {"base", false, "norm.weight", "E",
       {{{"{base}norm.weight", "E", kSame}, {}, {}, {}}}},
      // Only with tie_word_embeddings false (the default of all three configs).
      {"untied_head", false, "lm_head.weight", "V,E",
       {{{"lm_head.weight", "V,E", kSame}, {}, {}, {}}}},
  };
  // clang-format on
#undef LAYER
  return rows;
}

const std::vector<AliasRow>& LlamaFamily::aliases() const {
  // With tie_word_embeddings true, a torch.save of the state dict holds lm_head.weight as a
  // second name of embed_tokens (save_pretrained to safetensors drops it). Accepted on read
  // after an equality check.
  static const std::vector<AliasRow> rows = {
      {Convention::kHfPyTorch, "", "lm_head.weight", "embed_tokens.weight", false},
  };
  return rows;
}

const std::vector<BufferRow>& LlamaFamily::buffers() const {
  static const std::vector<BufferRow> rows = {
      {Convention::kHfPyTorch, "{base}layers.{i}.self_attn.rotary_emb.inv_freq",
       "rotary frequencies (saved by transformers < 4.31, recomputed from rope_theta)"},
      {Convention::kHfPyTorch, "{base}rotary_emb.inv_freq",
       "rotary frequencies (recomputed from rope_theta and rope_scaling)"},
  };
  return rows;
}

const std::vector<HfClass>& LlamaFamily::hf_classes() const {
  // The three model types share one layout; write_config names the class after the config's
  // model_type, so every Model / CausalLM pair is listed for reading architectures. The bare
  // model comes first: without architectures in config.json and without lm_head.weight, an
  // untied config's checkpoint has no head to write (a tied one computes it from embed_tokens).
  // A config naming a *ForCausalLM class needs the untied head (group_required).
  static const std::vector<std::string_view> kOptional = {"untied_head", "qkv_bias", "o_bias",
                                                          "mlp_bias"};
  static const std::vector<std::string_view> kHeadGroups = {"base", "qkv_bias", "o_bias",
                                                            "mlp_bias", "untied_head"};
  static const std::vector<std::string_view> kBaseGroups = {"base", "qkv_bias", "o_bias",
                                                            "mlp_bias"};
  static const std::vector<std::string_view> kBaseOptional = {"qkv_bias", "o_bias", "mlp_bias"};
  static const std::vector<HfClass> classes = {
      {"LlamaModel", kBaseGroups, kBaseOptional, "", "", {}},
      {"LlamaForCausalLM", kHeadGroups, kOptional, "model.", "", {}},
      {"MistralModel", kBaseGroups, kBaseOptional, "", "", {}},
      {"MistralForCausalLM", kHeadGroups, kOptional, "model.", "", {}},
      {"Qwen2Model", kBaseGroups, kBaseOptional, "", "", {}},
      {"Qwen2ForCausalLM", kHeadGroups, kOptional, "model.", "", {}},
  };
  return classes;
}

const std::vector<FileRow>& LlamaFamily::files() const {
  // The tokenizer files the Hub's Llama, Mistral and Qwen2 folders carry.
  static const std::vector<FileRow> rows = {
      {{"tokenizer.json", "", "", ""}, false},    {{"tokenizer_config.json", "", "", ""}, false},
      {{"tokenizer.model", "", "", ""}, false},   {{"special_tokens_map.json", "", "", ""}, false},
      {{"added_tokens.json", "", "", ""}, false}, {{"vocab.json", "", "", ""}, false},
      {{"merges.txt", "", "", ""}, false},        {{"generation_config.json", "", "", ""}, false},
  };
  return rows;
}

std::string_view LlamaFamily::config_file(Convention c) const {
  return c == Convention::kHfPyTorch ? "config.json" : "";
}

const Family& llama_family() {
  static const LlamaFamily family;
  return family;
}

}  // namespace tensorferry
