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
  ConfigReader(json doc, std::string file) : doc_(std::move(doc)), file_(std::move(file)) {}

  // The first of `keys` present (HF accepts attribute_map aliases), else `fallback`; a missing
  // key without fallback is an error.
  int64_t integer(std::initializer_list<const char*> keys, std::optional<int64_t> fallback,
                  int64_t min = 1) const {
    for (const char* key : keys) {
      if (!doc_.contains(key)) continue;
      const json& v = doc_[key];
      if (!v.is_number_integer())
        throw_bad_input(file_, std::nullopt, std::string("\"") + key + "\" is not an integer");
      const int64_t value = v.get<int64_t>();
      if (value < min || value > kMaxDimension)
        throw_bad_input(file_, std::nullopt,
                        std::string("\"") + key + "\" = " + std::to_string(value) +
                            " is out of range [" + std::to_string(min) + ", " +
                            std::to_string(kMaxDimension) + "]");
      return value;
    }
    if (!fallback)
      throw_bad_input(file_, std::nullopt, std::string("missing \"") + *keys.begin() + "\"");
    return *fallback;
  }

  double number(const char* key, double fallback) const {
    if (!doc_.contains(key)) return fallback;
    const json& v = doc_[key];
    if (!v.is_number())
      throw_bad_input(file_, std::nullopt, std::string("\"") + key + "\" is not a number");
    const double value = v.get<double>();
    if (!(value >= 0) || !std::isfinite(value))
      throw_bad_input(file_, std::nullopt,
                      std::string("\"") + key + "\" must be a finite number >= 0");
    return value;
  }

  std::string text(const char* key, const std::string& fallback) const {
    if (!doc_.contains(key) || doc_[key].is_null()) return fallback;
    if (!doc_[key].is_string())
      throw_bad_input(file_, std::nullopt, std::string("\"") + key + "\" is not a string");
    return doc_[key].get<std::string>();
  }

  bool boolean(const char* key, bool fallback) const {
    if (!doc_.contains(key) || doc_[key].is_null()) return fallback;
    if (!doc_[key].is_boolean())
      throw_bad_input(file_, std::nullopt, std::string("\"") + key + "\" is not true/false");
    return doc_[key].get<bool>();
  }

  bool is_null_or_absent(const char* key) const {
    return !doc_.contains(key) || doc_[key].is_null();
  }

  [[noreturn]] void unsupported(const std::string& what) const {
    throw_bad_input(file_, std::nullopt, "verify cannot run this model: " + what);
  }

  const std::string& file() const { return file_; }

 private:
  json doc_;
  std::string file_;
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
  else
    c = read_bert(r, convention);
  c.file = file;
  return c;
}

}  // namespace tensorferry::verify
