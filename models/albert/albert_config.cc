// ALBERT configs: HF config.json <-> Google albert_config.json. The architecture keys are the
// same; what differs is the activation's name (Google's modeling.py "gelu" is the tanh
// approximation, transformers' "gelu_new"; transformers' "gelu" is the erf form, which Google's
// code cannot compute) and what modeling.py hard-codes (LayerNorm epsilon 1e-12, absolute
// positions, no embedding_hidden_mapping_in when embedding_size == hidden_size), which
// check_expressible enforces.
#include <algorithm>

#include "core/error.h"
#include "models/albert/albert.h"
#include "models/config_json.h"
#include "models/encoder_config.h"

namespace tensorferry {

namespace {

// AlbertConfig() as transformers 4.57.6 serialises it.
const nlohmann::json& hf_defaults() {
  static const nlohmann::json defaults = {
      {"attention_probs_dropout_prob", 0},
      {"bos_token_id", 2},
      {"classifier_dropout_prob", 0.1},
      {"embedding_size", 128},
      {"eos_token_id", 3},
      {"hidden_act", "gelu_new"},
      {"hidden_dropout_prob", 0},
      {"hidden_size", 4096},
      {"initializer_range", 0.02},
      {"inner_group_num", 1},
      {"intermediate_size", 16384},
      {"layer_norm_eps", 1e-12},
      {"max_position_embeddings", 512},
      {"model_type", "albert"},
      {"num_attention_heads", 64},
      {"num_hidden_groups", 1},
      {"num_hidden_layers", 12},
      {"pad_token_id", 0},
      {"position_embedding_type", "absolute"},
      {"type_vocab_size", 2},
      {"vocab_size", 30000},
  };
  return defaults;
}

// Google's AlbertConfig defaults (modeling.py); vocab_size has none.
const nlohmann::json& google_defaults() {
  static const nlohmann::json defaults = {
      {"attention_probs_dropout_prob", 0},
      {"embedding_size", 128},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0},
      {"hidden_size", 4096},
      {"initializer_range", 0.02},
      {"inner_group_num", 1},
      {"intermediate_size", 16384},
      {"max_position_embeddings", 512},
      {"num_attention_heads", 64},
      {"num_hidden_groups", 1},
      {"num_hidden_layers", 12},
      {"type_vocab_size", 2},
  };
  return defaults;
}

// Keys of Google's released albert_config.json that its modeling.py never reads.
constexpr const char* kGoogleOnlyKeys[] = {"down_scale_factor", "gap_size", "layers_to_keep",
                                           "net_structure_type", "num_memory_blocks"};

// Google's activation names -> transformers' (ACT2FN) for the same arithmetic.
std::string hf_activation(const std::string& google) {
  return google == "gelu" ? "gelu_new" : google;
}

ModelConfig finish(nlohmann::json hf, const std::string& file) {
  ModelConfig config{{}, encoder_symbols(hf, file, "gelu_new")};
  const uint64_t layers = config.symbols.at('L');
  const uint64_t groups = require_config_uint(hf, "num_hidden_groups", file);
  if (groups > layers)
    throw_bad_input(file, std::nullopt,
                    "num_hidden_groups " + std::to_string(groups) + " exceeds num_hidden_layers " +
                        std::to_string(layers) + ": some groups would never be applied");
  // Several attention+FFN blocks per group are an option of both codes no released model uses;
  // the table names one block per group.
  if (require_config_uint(hf, "inner_group_num", file) != 1)
    throw Error(ErrorKind::kUsage,
                "inner_group_num " + hf["inner_group_num"].dump() +
                    ": only ALBERT models with one block per layer group (inner_group_num 1) "
                    "are supported",
                file);
  config.symbols['L'] = groups;  // the per-layer rows are stored once per group
  config.hf = std::move(hf);
  return config;
}

}  // namespace

bool AlbertFamily::matches_hf_config(const nlohmann::json& config) const {
  if (auto it = config.find("model_type"); it != config.end() && it->is_string())
    return *it == "albert";
  if (auto it = config.find("architectures"); it != config.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string() && a.get<std::string>().starts_with("Albert")) return true;
  return false;
}

std::string_view AlbertFamily::config_file(Convention c) const {
  switch (c) {
    case Convention::kHfPyTorch:
    case Convention::kHfTf2: return "config.json";
    case Convention::kOpenAiTf1: return "";
    case Convention::kGoogleTf1: return "albert_config.json";
  }
  return "";
}

ModelConfig AlbertFamily::read_config(Convention c, const std::string& text,
                                      const std::string& file) const {
  nlohmann::json source = parse_config_json(text, file);
  if (c != Convention::kGoogleTf1) return finish(with_defaults(source, hf_defaults()), file);
  if (!source.contains("vocab_size")) throw_bad_input(file, std::nullopt, "missing \"vocab_size\"");
  nlohmann::json google = with_defaults(source, google_defaults());
  for (const char* key : kGoogleOnlyKeys) google.erase(key);
  if (google["hidden_act"].is_string())
    google["hidden_act"] = hf_activation(google["hidden_act"].get<std::string>());
  return finish(with_defaults(google, hf_defaults()), file);
}

void AlbertFamily::bind_symbol(ModelConfig& config, char symbol, uint64_t value) const {
  config.symbols[symbol] = value;
  if (symbol == 'C') set_hf_labels(config.hf, value);
}

std::vector<std::string> AlbertFamily::check_expressible(
    Convention target, const ModelConfig& config, const std::vector<std::string>& groups) const {
  if (target != Convention::kGoogleTf1) return {};
  if (config.symbols.at('E') == config.symbols.at('H'))
    refuse_for_google(
        "embedding_size equals hidden_size, and Google's modeling.py then has no "
        "embedding_hidden_mapping_in, which transformers' AlbertModel always applies");
  if (config_activation(config.hf, "hidden_act", "gelu_new", "config") == "gelu")
    refuse_for_google(
        "hidden_act is \"gelu\" (the erf form) and Google's modeling.py computes only the tanh "
        "approximation (transformers' \"gelu_new\")");
  check_google_encoder(config.hf, "gelu_new", {"gelu_new", "relu", "tanh", "linear"},
                       "gelu (tanh form), relu, tanh and linear");
  return {};
}

std::string AlbertFamily::write_config(Convention target, const ModelConfig& config,
                                       const HfClass* hf_class) const {
  if (target == Convention::kGoogleTf1) {
    // modeling.py's AlbertConfig: BertConfig's keys, the vocabulary, the embedding width and the
    // layer groups.
    nlohmann::json google = google_bert_config(
        config.hf, {"embedding_size", "inner_group_num", "num_hidden_groups", "vocab_size"});
    if (google["hidden_act"] == "gelu_new") google["hidden_act"] = "gelu";
    return dump_sorted_json(google);
  }
  return hf_config_text(config, hf_class, "AlbertForSequenceClassification");
}

std::vector<std::string> AlbertFamily::tf2_layer_names(const HfClass& c,
                                                       const ModelConfig& config) const {
  // A fresh TFAlbertForSequenceClassification numbers its Dropout layers as BERT's does, one in
  // the embeddings and three per stored layer (one per group): the classifier's is 3G+1.
  return keras_layer_names(c, 3 * config.symbols.at('L') + 1);
}

const Family& albert_family() {
  static const AlbertFamily family;
  return family;
}

}  // namespace tensorferry
