// DistilBERT configs: HF config.json only (DistilBertConfig, transformers 4.57.6). Its own keys
// for BERT's dimensions (dim, n_layers, n_heads, hidden_dim, activation); the attribute-map
// spellings hidden_size, num_hidden_layers and num_attention_heads are read as DistilBertConfig
// reads them (they override dim, n_layers, n_heads) and written under DistilBERT's names. Every
// LayerNorm epsilon is hard-coded to 1e-12 in both frameworks, so no key sets it.
#include <algorithm>

#include "core/error.h"
#include "models/config_json.h"
#include "models/distilbert/distilbert.h"
#include "models/encoder_config.h"

namespace tensorferry {

namespace {

// DistilBertConfig() as transformers 4.57.6 serialises it.
const nlohmann::json& distilbert_defaults() {
  static const nlohmann::json defaults = {
      {"activation", "gelu"},
      {"attention_dropout", 0.1},
      {"dim", 768},
      {"dropout", 0.1},
      {"hidden_dim", 3072},
      {"initializer_range", 0.02},
      {"max_position_embeddings", 512},
      {"model_type", "distilbert"},
      {"n_heads", 12},
      {"n_layers", 6},
      {"pad_token_id", 0},
      {"qa_dropout", 0.1},
      {"seq_classif_dropout", 0.2},
      {"sinusoidal_pos_embds", false},
      {"vocab_size", 30522},
  };
  return defaults;
}

constexpr EncoderKeys kKeys = {"dim", "n_layers", "n_heads", "hidden_dim", "activation"};

// DistilBertConfig.attribute_map: the BertConfig names it accepts for its own keys.
constexpr std::pair<const char*, const char*> kAttributeMap[] = {
    {"hidden_size", "dim"}, {"num_hidden_layers", "n_layers"}, {"num_attention_heads", "n_heads"}};

// transformers' activations_tf.ACT2FN, where the TFDistilBert* classes look `activation` up.
constexpr std::string_view kTfActivations[] = {"gelu",    "gelu_10", "gelu_fast",  "gelu_new",
                                               "glu",     "mish",    "quick_gelu", "relu",
                                               "sigmoid", "silu",    "swish",      "tanh"};

}  // namespace

const nlohmann::json& DistilBertFamily::hf_defaults() const { return distilbert_defaults(); }

bool DistilBertFamily::matches_hf_config(const nlohmann::json& config) const {
  if (const auto it = config.find("model_type"); it != config.end() && it->is_string())
    return *it == "distilbert";
  // Configs written before model_type existed name the class only.
  if (const auto it = config.find("architectures"); it != config.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string() && a.get<std::string>().starts_with("DistilBert")) return true;
  return false;
}

ModelConfig DistilBertFamily::read_config(Convention c, const std::string& text,
                                          const std::string& file) const {
  nlohmann::json source = parse_config_json(text, file);
  for (const auto& [alias, key] : kAttributeMap)
    if (auto it = source.find(alias); it != source.end()) {
      source[key] = *it;
      source.erase(alias);
    }
  nlohmann::json hf = with_defaults(source, hf_defaults());
  ModelConfig config{{}, encoder_symbols(hf, file, "gelu", kKeys)};
  config.hf = std::move(hf);
  return config;
}

std::string DistilBertFamily::write_config(Convention target, const ModelConfig& config,
                                           const HfClass* hf_class) const {
  return hf_config_text(config, hf_class, "DistilBertForSequenceClassification");
}

std::vector<std::string> DistilBertFamily::check_expressible(
    Convention target, const ModelConfig& config, const std::vector<std::string>& groups) const {
  if (target == Convention::kHfTf2) {
    if (std::find(groups.begin(), groups.end(), "untied_decoder") != groups.end())
      refuse_for(target,
                 "its vocab_projector.weight is not tied to the word embeddings, and "
                 "TFDistilBertForMaskedLM always projects on the word embeddings");
    const std::string act = config_activation(config.hf, "activation", "gelu", "config.json");
    if (std::find(std::begin(kTfActivations), std::end(kTfActivations), act) ==
        std::end(kTfActivations))
      refuse_for(target, "activation \"" + act +
                             "\" is not in transformers' TF activations (activations_tf.ACT2FN), "
                             "which the TFDistilBert* classes look it up in");
  }
  if (!config_bool(config.hf, "sinusoidal_pos_embds", false)) return {};
  return {
      "sinusoidal_pos_embds true: the sinusoidal position table is carried as the stored "
      "embeddings.position_embeddings.weight; DistilBertModel fills it only when it initialises "
      "a new model, and from_pretrained (PyTorch and TF2) uses the stored table"};
}

}  // namespace tensorferry
