// BERT configs: HF config.json <-> Google bert_config.json. Both use the same key names for the
// architecture; Google's BertConfig.from_dict copies every key without validation, and its
// modeling.py hard-codes what HF makes configurable (LayerNorm epsilon 1e-12, absolute position
// embeddings, an encoder without cross-attention), which check_expressible enforces.
#include <algorithm>

#include "core/error.h"
#include "models/bert/bert.h"
#include "models/config_json.h"
#include "models/encoder_config.h"

namespace tensorferry {

namespace {

// BertConfig() as transformers 4.57.6 serialises it.
const nlohmann::json& bert_defaults() {
  static const nlohmann::json defaults = {
      {"attention_probs_dropout_prob", 0.1},
      {"classifier_dropout", nullptr},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.1},
      {"hidden_size", 768},
      {"initializer_range", 0.02},
      {"intermediate_size", 3072},
      {"layer_norm_eps", 1e-12},
      {"max_position_embeddings", 512},
      {"model_type", "bert"},
      {"num_attention_heads", 12},
      {"num_hidden_layers", 12},
      {"pad_token_id", 0},
      {"position_embedding_type", "absolute"},
      {"type_vocab_size", 2},
      {"use_cache", true},
      {"vocab_size", 30522},
  };
  return defaults;
}

// The architecture keys of Google's BertConfig, with its defaults (type_vocab_size has no
// default here: versions of modeling.py disagree (2 or 16), so it comes from the tensors).
const nlohmann::json& google_defaults() {
  static const nlohmann::json defaults = {
      {"attention_probs_dropout_prob", 0.1},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.1},
      {"hidden_size", 768},
      {"initializer_range", 0.02},
      {"intermediate_size", 3072},
      {"max_position_embeddings", 512},
      {"num_attention_heads", 12},
      {"num_hidden_layers", 12},
  };
  return defaults;
}

// Without type_vocab_size (Google's configs may lack it), T is a symbol the tensors fix.
ModelConfig finish(nlohmann::json hf, const std::string& file) {
  ModelConfig config{{}, encoder_symbols(hf, file, "gelu")};
  config.hf = std::move(hf);
  return config;
}

}  // namespace

const nlohmann::json& BertFamily::hf_defaults() const { return bert_defaults(); }

bool BertFamily::matches_hf_config(const nlohmann::json& config) const {
  if (auto it = config.find("model_type"); it != config.end() && it->is_string())
    return *it == "bert";
  if (auto it = config.find("architectures"); it != config.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string() && a.get<std::string>().starts_with("Bert")) return true;
  // pytorch-pretrained-bert era configs (SpanBERT's) carry neither.
  return config.contains("hidden_size") && config.contains("num_attention_heads") &&
         config.contains("type_vocab_size");
}

ModelConfig BertFamily::read_config(Convention c, const std::string& text,
                                    const std::string& file) const {
  nlohmann::json source = parse_config_json(text, file);
  if (c == Convention::kGoogleTf1) {
    nlohmann::json google = with_defaults(source, google_defaults());
    nlohmann::json hf = with_defaults(google, hf_defaults());
    if (!source.contains("type_vocab_size")) hf.erase("type_vocab_size");
    if (!source.contains("vocab_size"))
      throw_bad_input(file, std::nullopt, "missing \"vocab_size\"");
    return finish(std::move(hf), file);
  }
  return finish(with_defaults(source, hf_defaults()), file);
}

void BertFamily::bind_symbol(ModelConfig& config, char symbol, uint64_t value) const {
  config.symbols[symbol] = value;
  if (symbol == 'T') config.hf["type_vocab_size"] = value;
  if (symbol == 'C') set_hf_labels(config.hf, value);
}

bool BertFamily::group_enabled(const ModelConfig& config, std::string_view group) const {
  if (group == "untied_decoder") return !config_bool(config.hf, "tie_word_embeddings", true);
  return true;
}

std::vector<std::string> BertFamily::check_expressible(
    Convention target, const ModelConfig& config, const std::vector<std::string>& groups) const {
  const bool untied = std::find(groups.begin(), groups.end(), "untied_decoder") != groups.end();
  if (untied && target != Convention::kHfPyTorch)
    refuse_for(target,
               "its MLM decoder (cls.predictions.decoder.weight) is not tied to the word "
               "embeddings, and " +
                   std::string(target == Convention::kHfTf2 ? "the TF2 BERT classes"
                                                            : "Google's run_pretraining.py") +
                   " always decode with the word embeddings");
  if (target != Convention::kGoogleTf1) return {};

  const std::string act = check_google_encoder(
      config.hf, "gelu", {"gelu", "relu", "tanh", "linear"}, "gelu, relu, tanh and linear");
  std::vector<std::string> notes;
  if (act == "gelu")
    notes.push_back(
        "hidden_act \"gelu\": transformers computes the exact erf GELU, google-research/bert's "
        "current modeling.py the tanh approximation (max difference 4.7e-4 per activation); "
        "BERT's original release used erf");
  return notes;
}

std::string BertFamily::write_config(Convention target, const ModelConfig& config,
                                     const HfClass* hf_class) const {
  if (target == Convention::kGoogleTf1) {
    return dump_sorted_json(google_bert_config(config.hf, {"vocab_size"}));
  }
  return hf_config_text(config, hf_class, "BertForSequenceClassification");
}

}  // namespace tensorferry
