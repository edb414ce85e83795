// LLaMA-family configs (config.json of LlamaConfig, MistralConfig, Qwen2Config).
//
// The three configs share the architecture keys; they differ in defaults and in which biases a
// model has. Keys a config leaves out get the defaults of its own class, and the two derived
// keys transformers fills in (num_key_value_heads = num_attention_heads when null; Llama's
// head_dim = hidden_size / num_attention_heads) are computed the same way, so the written
// config.json is complete. Qwen2's derived layer_types list is left to transformers. rope_theta and
// rope_scaling are carried as they are.
#include <algorithm>

#include "core/error.h"
#include "models/config_json.h"
#include "models/llama/llama.h"

namespace tensorferry {

namespace {

// Each class's defaults as transformers 4.57.6 serialises them (to_diff_dict), minus the derived
// keys that finish() computes. One key per line, sorted, as in the config files.
// clang-format off
nlohmann::json llama_defaults() {
  return {
      {"attention_bias", false},
      {"attention_dropout", 0.0},
      {"bos_token_id", 1},
      {"eos_token_id", 2},
      {"hidden_act", "silu"},
      {"hidden_size", 4096},
      {"initializer_range", 0.02},
      {"intermediate_size", 11008},
      {"max_position_embeddings", 2048},
      {"mlp_bias", false},
      {"model_type", "llama"},
      {"num_attention_heads", 32},
      {"num_hidden_layers", 32},
      {"pretraining_tp", 1},
      {"rms_norm_eps", 1e-06},
      {"rope_scaling", nullptr},
      {"rope_theta", 10000.0},
      {"tie_word_embeddings", false},
      {"use_cache", true},
      {"vocab_size", 32000},
  };
}

nlohmann::json mistral_defaults() {
  return {
      {"attention_dropout", 0.0},
      {"bos_token_id", 1},
      {"eos_token_id", 2},
      {"head_dim", nullptr},
      {"hidden_act", "silu"},
      {"hidden_size", 4096},
      {"initializer_range", 0.02},
      {"intermediate_size", 14336},
      {"max_position_embeddings", 131072},
      {"model_type", "mistral"},
      {"num_attention_heads", 32},
      {"num_hidden_layers", 32},
      {"num_key_value_heads", 8},
      {"rms_norm_eps", 1e-06},
      {"rope_theta", 10000.0},
      {"sliding_window", 4096},
      {"tie_word_embeddings", false},
      {"use_cache", true},
      {"vocab_size", 32000},
  };
}

nlohmann::json qwen2_defaults() {
  return {
      {"attention_dropout", 0.0},
      {"hidden_act", "silu"},
      {"hidden_size", 4096},
      {"initializer_range", 0.02},
      {"intermediate_size", 22016},
      {"max_position_embeddings", 32768},
      {"max_window_layers", 28},
      {"model_type", "qwen2"},
      {"num_attention_heads", 32},
      {"num_hidden_layers", 32},
      {"num_key_value_heads", 32},
      {"rms_norm_eps", 1e-06},
      {"rope_scaling", nullptr},
      {"rope_theta", 10000.0},
      {"sliding_window", nullptr},
      {"tie_word_embeddings", false},
      {"use_cache", true},
      {"use_sliding_window", false},
      {"vocab_size", 151936},
  };
}
// clang-format on

constexpr std::string_view kModelTypes[] = {"llama", "mistral", "qwen2"};

std::string model_type_of(const nlohmann::json& config) {
  auto it = config.find("model_type");
  return it != config.end() && it->is_string() ? it->get<std::string>() : "llama";
}

nlohmann::json defaults_for(const std::string& model_type) {
  if (model_type == "mistral") return mistral_defaults();
  if (model_type == "qwen2") return qwen2_defaults();
  return llama_defaults();
}

ModelConfig finish(nlohmann::json hf, const std::string& file) {
  ModelConfig config;
  const uint64_t vocab = require_config_uint(hf, "vocab_size", file);
  const uint64_t hidden = require_config_uint(hf, "hidden_size", file);
  const uint64_t inner = require_config_uint(hf, "intermediate_size", file);
  const uint64_t layers = require_config_uint(hf, "num_hidden_layers", file);
  const uint64_t heads = require_config_uint(hf, "num_attention_heads", file);
  if (!config_uint(hf, "num_key_value_heads", file)) hf["num_key_value_heads"] = heads;
  const uint64_t kv_heads = require_config_uint(hf, "num_key_value_heads", file);
  if (layers > 100000 || hidden > (1u << 20) || vocab > (1u << 26) || inner > (1u << 24) ||
      heads > (1u << 16))
    throw_bad_input(file, std::nullopt, "implausibly large model dimensions");
  if (heads % kv_heads != 0)
    throw_bad_input(file, std::nullopt,
                    "num_attention_heads " + std::to_string(heads) +
                        " is not a multiple of num_key_value_heads " + std::to_string(kv_heads));
  // LlamaConfig writes the derived head_dim; MistralConfig keeps null and Qwen2Config has no such
  // key (both attentions fall back to hidden_size / heads).
  std::optional<uint64_t> head_dim = config_uint(hf, "head_dim", file);
  if (!head_dim) {
    if (hidden % heads != 0)
      throw_bad_input(file, std::nullopt,
                      "hidden_size " + std::to_string(hidden) +
                          " is not a multiple of num_attention_heads " + std::to_string(heads));
    head_dim = hidden / heads;
    if (model_type_of(hf) == "llama") hf["head_dim"] = *head_dim;
  }
  if (*head_dim == 0 || *head_dim % 2 != 0 || *head_dim > (1u << 16))
    throw_bad_input(file, std::nullopt,
                    "head_dim " + std::to_string(*head_dim) +
                        " must be even and positive (rotary embeddings rotate pairs)");
  config.symbols = {{'V', vocab},
                    {'E', hidden},
                    {'I', inner},
                    {'L', layers},
                    {'N', heads},
                    {'A', heads * *head_dim},
                    {'K', kv_heads * *head_dim}};
  config.hf = std::move(hf);
  return config;
}

}  // namespace

bool LlamaFamily::matches_hf_config(const nlohmann::json& config) const {
  if (auto it = config.find("model_type"); it != config.end() && it->is_string())
    return std::find(std::begin(kModelTypes), std::end(kModelTypes), it->get<std::string>()) !=
           std::end(kModelTypes);
  if (auto it = config.find("architectures"); it != config.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string() && find_hf_class(a.get<std::string>())) return true;
  return false;
}

ModelConfig LlamaFamily::read_config(Convention c, const std::string& text,
                                     const std::string& file) const {
  if (c != Convention::kHfPyTorch)
    throw_usage("llama models have no " + std::string(convention_name(c)) + " config");
  nlohmann::json source = parse_config_json(text, file);
  if (!source.contains("model_type")) {
    // An old config without model_type: the class it names says which defaults apply.
    std::string type = "llama";
    if (auto it = source.find("architectures"); it != source.end() && it->is_array()) {
      for (const auto& a : *it) {
        const std::string name = a.is_string() ? a.get<std::string>() : "";
        if (name.starts_with("Mistral")) type = "mistral";
        if (name.starts_with("Qwen2")) type = "qwen2";
      }
    }
    source["model_type"] = type;
  }
  const std::string type = config_string(source, "model_type", file).value_or("llama");
  return finish(with_defaults(source, defaults_for(type)), file);
}

bool LlamaFamily::group_enabled(const ModelConfig& config, std::string_view group) const {
  const std::string type = model_type_of(config.hf);
  if (group == "untied_head") return !config_bool(config.hf, "tie_word_embeddings", false);
  if (group == "qkv_bias")
    return type == "qwen2" || (type == "llama" && config_bool(config.hf, "attention_bias", false));
  if (group == "o_bias") return type == "llama" && config_bool(config.hf, "attention_bias", false);
  if (group == "mlp_bias") return type == "llama" && config_bool(config.hf, "mlp_bias", false);
  return true;
}

bool LlamaFamily::group_required(const ModelConfig& config, std::string_view group) const {
  // Biases are part of the architecture the config describes, and an untied config that names a
  // *ForCausalLM class promises lm_head.weight: transformers would initialise missing ones
  // randomly, so a source without them is incomplete, not headless.
  if (group == "base" || !group_enabled(config, group)) return false;
  if (group != "untied_head") return true;
  const auto it = config.hf.find("architectures");
  return it != config.hf.end() && it->is_array() && !it->empty() && (*it)[0].is_string() &&
         (*it)[0].get<std::string>().ends_with("ForCausalLM");
}

std::vector<std::string> LlamaFamily::check_expressible(
    Convention target, const ModelConfig& config, const std::vector<std::string>& groups) const {
  return {};
}

std::string LlamaFamily::write_config(Convention target, const ModelConfig& config,
                                      const HfClass* hf_class) const {
  nlohmann::json hf = config.hf;
  if (hf_class) {
    // The class of the config's own model type (LlamaForCausalLM for a Llama, ...).
    const std::string type = model_type_of(hf);
    const std::string prefix = type == "mistral" ? "Mistral" : type == "qwen2" ? "Qwen2" : "Llama";
    const std::string_view name = hf_class->name;
    const std::string suffix = name.ends_with("ForCausalLM") ? "ForCausalLM" : "Model";
    hf["architectures"] = {prefix + suffix};
  }
  return dump_sorted_json(hf);
}

}  // namespace tensorferry
