#include "verify/model_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/input_file.h"
#include "core/json_input.h"
#include "core/limits.h"

namespace tensorferry::verify {
namespace {

using nlohmann::json;

// Sizes beyond this are not a model verify can run; refusing them early keeps a hostile config
// from asking for an absurd allocation.
constexpr int64_t kMaxDimension = int64_t{1} << 24;

json load_json(const std::string& file) {
  json doc = parse_json_input(read_input_text(file, kMaxConfigFileBytes, "the config"), file);
  if (!doc.is_object()) throw_bad_input(file, std::nullopt, "config is not a JSON object");
  return doc;
}

class ConfigReader {
 public:
  // `prefix` names a nested object in messages ("rope_scaling.").
  ConfigReader(json doc, std::string file, std::string prefix = "")
      : doc_(std::move(doc)), file_(std::move(file)), prefix_(std::move(prefix)) {}

  // The first of `keys` present (HF accepts attribute_map aliases), else `fallback`; a missing
  // key without fallback is an error.
  int64_t integer(std::initializer_list<const char*> keys, std::optional<int64_t> fallback,
                  int64_t min = 1) const {
    for (const char* key : keys) {
      if (!doc_.contains(key)) continue;
      const json& v = doc_[key];
      if (!v.is_number_integer())
        throw_bad_input(file_, std::nullopt, quoted(key) + " is not an integer");
      const int64_t value = v.get<int64_t>();
      if (value < min || value > kMaxDimension)
        throw_bad_input(file_, std::nullopt,
                        quoted(key) + " = " + std::to_string(value) + " is out of range [" +
                            std::to_string(min) + ", " + std::to_string(kMaxDimension) + "]");
      return value;
    }
    if (!fallback) throw_bad_input(file_, std::nullopt, "missing " + quoted(*keys.begin()));
    return *fallback;
  }

  double number(const char* key, double fallback) const {
    if (!doc_.contains(key)) return fallback;
    const json& v = doc_[key];
    if (!v.is_number()) throw_bad_input(file_, std::nullopt, quoted(key) + " is not a number");
    const double value = v.get<double>();
    if (!(value >= 0) || !std::isfinite(value))
      throw_bad_input(file_, std::nullopt, quoted(key) + " must be a finite number >= 0");
    return value;
  }

  std::string text(const char* key, const std::string& fallback) const {
    if (!doc_.contains(key) || doc_[key].is_null()) return fallback;
    if (!doc_[key].is_string())
      throw_bad_input(file_, std::nullopt, quoted(key) + " is not a string");
    return doc_[key].get<std::string>();
  }

  bool boolean(const char* key, bool fallback) const {
    if (!doc_.contains(key) || doc_[key].is_null()) return fallback;
    if (!doc_[key].is_boolean())
      throw_bad_input(file_, std::nullopt, quoted(key) + " is not true/false");
    return doc_[key].get<bool>();
  }

  bool has(const char* key) const { return doc_.contains(key); }

  bool is_null_or_absent(const char* key) const {
    return !doc_.contains(key) || doc_[key].is_null();
  }

  // The object at `key`, read with the same checks; nullopt when absent or null.
  std::optional<ConfigReader> object(const char* key) const {
    if (is_null_or_absent(key)) return std::nullopt;
    if (!doc_[key].is_object())
      throw_bad_input(file_, std::nullopt, quoted(key) + " is not an object");
    return ConfigReader(doc_[key], file_, prefix_ + key + ".");
  }

  [[noreturn]] void unsupported(const std::string& what) const {
    throw_bad_input(file_, std::nullopt, "verify cannot run this model: " + what);
  }

  const std::string& file() const { return file_; }

 private:
  std::string quoted(const char* key) const { return "\"" + prefix_ + key + "\""; }

  json doc_;
  std::string file_;
  std::string prefix_;
};

Activation activation_or_throw(const ConfigReader& r, const std::string& name) {
  auto act = activation_from_name(name);
  if (!act) r.unsupported("activation \"" + name + "\"");
  return *act;
}

void check_heads(const ConfigReader& r, const ModelConfig& c) {
  if (c.hidden % c.heads != 0)
    r.unsupported("width " + std::to_string(c.hidden) + " is not a multiple of the " +
                  std::to_string(c.heads) + " heads");
}

ModelConfig read_hf_gpt2(const ConfigReader& r) {
  ModelConfig c;
  c.family = Family::kGpt2;
  const std::string type = r.text("model_type", "gpt2");
  if (type != "gpt2") r.unsupported("model_type \"" + type + "\" is not gpt2");
  // GPT2Config defaults and attribute_map aliases.
  c.vocab_size = r.integer({"vocab_size"}, 50257);
  c.max_positions = r.integer({"n_positions", "max_position_embeddings"}, 1024);
  c.hidden = r.integer({"n_embd", "hidden_size"}, 768);
  c.layers = r.integer({"n_layer", "num_hidden_layers"}, 12);
  c.heads = r.integer({"n_head", "num_attention_heads"}, 12);
  c.inner = r.is_null_or_absent("n_inner") ? 4 * c.hidden : r.integer({"n_inner"}, std::nullopt);
  c.activation_name = r.text("activation_function", "gelu_new");
  c.activation = activation_or_throw(r, c.activation_name);
  c.layer_norm_eps = r.number("layer_norm_epsilon", 1e-5);
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
  if (!r.boolean("scale_attn_weights", true)) r.unsupported("scale_attn_weights = false");
  if (r.boolean("scale_attn_by_inverse_layer_idx", false))
    r.unsupported("scale_attn_by_inverse_layer_idx = true");
  if (r.boolean("add_cross_attention", false)) r.unsupported("add_cross_attention = true");
  check_heads(r, c);
  return c;
}

ModelConfig read_openai_hparams(const ConfigReader& r) {
  ModelConfig c;
  c.family = Family::kGpt2;
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
  check_heads(r, c);
  return c;
}

ModelConfig read_bert(const ConfigReader& r, Convention convention) {
  ModelConfig c;
  c.family = Family::kBert;
  const bool google = convention == Convention::kGoogleTf1;
  if (!google) {
    const std::string type = r.text("model_type", "bert");
    if (type != "bert") r.unsupported("model_type \"" + type + "\" is not bert");
  }
  c.vocab_size = r.integer({"vocab_size"}, google ? std::nullopt : std::optional<int64_t>(30522));
  c.hidden = r.integer({"hidden_size"}, 768);
  c.layers = r.integer({"num_hidden_layers"}, 12);
  c.heads = r.integer({"num_attention_heads"}, 12);
  c.inner = r.integer({"intermediate_size"}, 3072);
  c.max_positions = r.integer({"max_position_embeddings"}, 512);
  c.type_vocab_size = r.integer({"type_vocab_size"}, google ? 16 : 2);
  c.activation_name = r.text("hidden_act", "gelu");
  // Google's modeling.py evaluates "gelu" with the tanh approximation, but its released
  // checkpoints were trained with the erf form and HF converts them as erf "gelu"; verify reads
  // hidden_act with HF semantics for every convention (see docs/verify.md).
  c.activation = activation_or_throw(r, c.activation_name);
  // modeling.py's layer_norm() hard-codes 1e-12 and ignores any key in bert_config.json.
  c.layer_norm_eps = google ? 1e-12 : r.number("layer_norm_eps", 1e-12);
  c.tie_word_embeddings = google ? true : r.boolean("tie_word_embeddings", true);
  if (!google) {
    const std::string pos = r.text("position_embedding_type", "absolute");
    if (pos != "absolute") r.unsupported("position_embedding_type \"" + pos + "\"");
    if (r.boolean("is_decoder", false)) r.unsupported("is_decoder = true");
  }
  check_heads(r, c);
  return c;
}

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
ModelConfig read_llama(const ConfigReader& r) {
  ModelConfig c;
  c.family = Family::kLlama;
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
    check_heads(r, c);
    c.head_dim = c.hidden / c.heads;
  }
  if (c.heads % c.kv_heads != 0)
    r.unsupported(std::to_string(c.heads) + " query heads are not a multiple of the " +
                  std::to_string(c.kv_heads) + " key/value heads");
  if (c.head_dim % 2 != 0) r.unsupported("head_dim " + std::to_string(c.head_dim) + " is odd");
  c.activation_name = r.text("hidden_act", "silu");
  c.activation = activation_or_throw(r, c.activation_name);
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

}  // namespace

std::optional<Activation> activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::kGeluErf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (name == "gelu_fast") return Activation::kGeluFast;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  if (name == "relu") return Activation::kRelu;
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "linear") return Activation::kLinear;
  return std::nullopt;
}

std::string describe_rope(const RopeConfig& rope) {
  auto number = [](double v) { return nlohmann::json(v).dump(); };
  std::string out = "theta " + number(rope.theta);
  if (rope.scaling == RopeScaling::kLinear) out += ", linear scaling x" + number(rope.factor);
  if (rope.scaling == RopeScaling::kLlama3)
    out += ", llama3 scaling x" + number(rope.factor) + " (low " + number(rope.low_freq_factor) +
           ", high " + number(rope.high_freq_factor) + ", original " +
           std::to_string(rope.original_max_positions) + " positions)";
  return out;
}

std::string config_file_name(Convention convention) {
  switch (convention) {
    case Convention::kOpenAiTf1: return "hparams.json";
    case Convention::kGoogleTf1: return "bert_config.json";
    default: return "config.json";
  }
}

ModelConfig read_model_config(Family family, Convention convention, const std::string& file) {
  ConfigReader r(load_json(file), file);
  ModelConfig c;
  if (family == Family::kGpt2)
    c = convention == Convention::kOpenAiTf1 ? read_openai_hparams(r) : read_hf_gpt2(r);
  else if (family == Family::kLlama)
    c = read_llama(r);
  else
    c = read_bert(r, convention);
  c.file = file;
  return c;
}

}  // namespace tensorferry::verify
