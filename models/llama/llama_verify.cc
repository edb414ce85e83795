#include "models/llama/llama_verify.h"

#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace llama {
namespace {

using enum Use;

// LLaMA, Mistral, Qwen2. Sources: transformers modeling_llama.py, modeling_mistral.py and
// modeling_qwen2.py (every projection an nn.Linear [out, in]; LlamaRMSNorm weight [width]; the
// base model under "model." in the *ForCausalLM classes). Biases exist only where the config
// says so (Qwen2: q/k/v; Llama attention_bias: q/k/v/o, mlp_bias: the MLP).
const std::vector<ParamSpec> kHfPytorch = {
    {kEmbed, false, "embed_tokens.weight", kTable},
    {kAttnNorm, true, "layers.{i}.input_layernorm.weight", kVector},
    {kQWeight, true, "layers.{i}.self_attn.q_proj.weight", kLinear},
    {kQBias, true, "layers.{i}.self_attn.q_proj.bias", kVector},
    {kKWeight, true, "layers.{i}.self_attn.k_proj.weight", kLinear},
    {kKBias, true, "layers.{i}.self_attn.k_proj.bias", kVector},
    {kVWeight, true, "layers.{i}.self_attn.v_proj.weight", kLinear},
    {kVBias, true, "layers.{i}.self_attn.v_proj.bias", kVector},
    {kOWeight, true, "layers.{i}.self_attn.o_proj.weight", kLinear},
    {kOBias, true, "layers.{i}.self_attn.o_proj.bias", kVector},
    {kMlpNorm, true, "layers.{i}.post_attention_layernorm.weight", kVector},
    {kGateWeight, true, "layers.{i}.mlp.gate_proj.weight", kLinear},
    {kGateBias, true, "layers.{i}.mlp.gate_proj.bias", kVector},
    {kUpWeight, true, "layers.{i}.mlp.up_proj.weight", kLinear},
    {kUpBias, true, "layers.{i}.mlp.up_proj.bias", kVector},
    {kDownWeight, true, "layers.{i}.mlp.down_proj.weight", kLinear},
    {kDownBias, true, "layers.{i}.mlp.down_proj.bias", kVector},
    {kNorm, false, "norm.weight", kVector},
    {kLmHead, false, "lm_head.weight", kLinear},  // read only when not tied
};

// rope_theta and rope_scaling as modeling_rope_utils reads them ("rope_type", or the older
// "type" that LlamaConfig copies into it).
RopeConfig read_rope(const ConfigReader& r) {
  RopeConfig rope;
  rope.theta = r.number("rope_theta", 10000.0);
  if (!(rope.theta > 1)) r.unsupported("rope_theta must be greater than 1");
  const std::optional<ConfigReader> scaling = r.object("rope_scaling");
  if (!scaling) return rope;
  const std::string type = scaling->text("rope_type", scaling->text("type", "default"));
  if (type == "default") return rope;
  if (type != "linear" && type != "llama3")
    r.unsupported("rope_scaling type \"" + type + "\" (verify knows default, linear and llama3)");
  rope.factor = scaling->number("factor", 0);
  if (!(rope.factor >= 1)) r.unsupported("rope_scaling factor must be a number >= 1");
  if (type == "linear") {
    rope.scaling = RopeScaling::kLinear;
    return rope;
  }
  rope.scaling = RopeScaling::kLlama3;
  rope.low_freq_factor = scaling->number("low_freq_factor", 0);
  rope.high_freq_factor = scaling->number("high_freq_factor", 0);
  rope.original_max_positions =
      scaling->integer({"original_max_position_embeddings"}, std::nullopt);
  if (!(rope.high_freq_factor > rope.low_freq_factor) || !(rope.low_freq_factor > 0))
    r.unsupported("llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor");
  return rope;
}

// LlamaConfig, MistralConfig and Qwen2Config (transformers 4.57.6): the same keys with each
// class's defaults, and the biases each model type's attention and MLP have.
ModelConfig read_llama(Convention, const ConfigReader& r) {
  ModelConfig c;
  c.rotary = true;
  c.model_type = r.text("model_type", "llama");
  const bool mistral = c.model_type == "mistral";
  const bool qwen2 = c.model_type == "qwen2";
  if (!mistral && !qwen2 && c.model_type != "llama")
    r.unsupported("model_type \"" + c.model_type + "\" is not llama, mistral or qwen2");
  c.vocab_size = r.integer({"vocab_size"}, qwen2 ? 151936 : 32000);
  c.hidden = r.integer({"hidden_size"}, 4096);
  c.layers = r.integer({"num_hidden_layers"}, 32);
  c.heads = r.integer({"num_attention_heads"}, 32);
  c.inner = r.integer({"intermediate_size"}, mistral ? 14336 : qwen2 ? 22016 : 11008);
  c.max_positions = r.integer({"max_position_embeddings"}, mistral ? 131072 : qwen2 ? 32768 : 2048);
  // An absent key takes the class default (Mistral 8, Qwen2 32); null means one per query head.
  if (!r.is_null_or_absent("num_key_value_heads"))
    c.kv_heads = r.integer({"num_key_value_heads"}, std::nullopt);
  else if (!r.has("num_key_value_heads") && (mistral || qwen2))
    c.kv_heads = mistral ? 8 : 32;
  else
    c.kv_heads = c.heads;
  if (!r.is_null_or_absent("head_dim")) {
    c.head_dim = r.integer({"head_dim"}, std::nullopt);
  } else {
    r.check_heads(c);
    c.head_dim = c.hidden / c.heads;
  }
  if (c.heads % c.kv_heads != 0)
    r.unsupported(std::to_string(c.heads) + " query heads are not a multiple of the " +
                  std::to_string(c.kv_heads) + " key/value heads");
  if (c.head_dim % 2 != 0) r.unsupported("head_dim " + std::to_string(c.head_dim) + " is odd");
  c.activation_name = r.text("hidden_act", "silu");
  c.activation = r.activation(c.activation_name);
  c.layer_norm_eps = r.number("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
  c.rope = read_rope(r);
  c.qkv_bias = qwen2 || (c.model_type == "llama" && r.boolean("attention_bias", false));
  c.o_bias = c.model_type == "llama" && r.boolean("attention_bias", false);
  c.mlp_bias = c.model_type == "llama" && r.boolean("mlp_bias", false);
  // MistralConfig's window (4096 when absent, none when null) applies to every layer.
  if (mistral && !r.has("sliding_window")) c.sliding_window = 4096;
  if (mistral && !r.is_null_or_absent("sliding_window"))
    c.sliding_window = r.integer({"sliding_window"}, std::nullopt);
  if (qwen2 && r.boolean("use_sliding_window", false))
    r.unsupported("use_sliding_window = true (per-layer sliding windows)");
  return c;
}

bool known_extra(Convention convention, const std::string& key) {
  // Rotary frequency buffers (per layer before transformers 4.31), and the LM head when tied to
  // embed_tokens.
  return convention == Convention::kHfPytorch &&
         (key.ends_with("rotary_emb.inv_freq") || key == "lm_head.weight");
}

}  // namespace
}  // namespace llama

const Family& llama_verify_family() {
  static const Family family = {
      .name = "llama",
      .tables = {&llama::kHfPytorch, nullptr, nullptr, nullptr},
      .token_table = llama::kEmbed,
      .hf_base_prefix = "model.",
      .config_files = {{{"config.json"}, {}, {}, {}}},
      .read_config = llama::read_llama,
      .known_extra = llama::known_extra,
      .output_stages = {"final norm", "logits"},
      .run = llama::run,
  };
  return family;
}

}  // namespace tensorferry::verify
