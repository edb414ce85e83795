// ELECTRA configs: HF config.json <-> electra_hparams.json, the JSON google-research/electra's
// run_pretraining.py / run_finetuning.py take as --hparams (Google's releases carry no config
// file: the model follows from model_size and the overrides). From hparams, as
// configure_pretraining.py and util/training_utils.py derive them: hidden size and depth from
// model_size (small 256 x 12, base 768 x 12, large 1024 x 24), max(1, hidden / 64) heads and an
// intermediate size of 4 x hidden, then model_hparam_overrides over all of it; embedding_size
// 128 for small, else the hidden size. The generator (run_pretraining's get_generator_config) is
// generator_hidden_size x hidden wide (0.25 by default) and generator_layers x the depth deep,
// with its own heads and intermediate size derived the same way, and shares the discriminator's
// embeddings. Google's gelu is the erf form here, as transformers' "gelu".
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/config_json.h"
#include "models/electra/electra.h"
#include "models/encoder_config.h"

namespace tensorferry {

namespace {

// ElectraConfig() as transformers 4.57.6 serialises it.
const nlohmann::json& hf_defaults() {
  static const nlohmann::json defaults = {
      {"attention_probs_dropout_prob", 0.1},
      {"classifier_dropout", nullptr},
      {"embedding_size", 128},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.1},
      {"hidden_size", 256},
      {"initializer_range", 0.02},
      {"intermediate_size", 1024},
      {"layer_norm_eps", 1e-12},
      {"max_position_embeddings", 512},
      {"model_type", "electra"},
      {"num_attention_heads", 4},
      {"num_hidden_layers", 12},
      {"pad_token_id", 0},
      {"position_embedding_type", "absolute"},
      {"summary_activation", "gelu"},
      {"summary_last_dropout", 0.1},
      {"summary_type", "first"},
      {"summary_use_proj", true},
      {"type_vocab_size", 2},
      {"use_cache", true},
      {"vocab_size", 30522},
  };
  return defaults;
}

// The hparams this reading does not follow: a generator with its own embeddings, one that is the
// discriminator, or BERT's objective (no discriminator at all).
void refuse_unsupported(const nlohmann::json& hparams, const std::string& file) {
  auto refuse = [&](const std::string& what) {
    throw Error(ErrorKind::kUsage, what + " is not supported", file);
  };
  if (config_bool(hparams, "untied_generator_embeddings", false))
    refuse("a generator with its own embeddings (untied_generator_embeddings)");
  if (!config_bool(hparams, "untied_generator", true))
    refuse("a generator that is the discriminator (untied_generator false)");
  if (!config_bool(hparams, "electra_objective", true))
    refuse("BERT's masked-LM objective (electra_objective false)");
}

// The discriminator's (or with `generator`, the generator's) HF config from hparams.
nlohmann::json from_hparams(const nlohmann::json& hp, bool generator, const std::string& file) {
  refuse_unsupported(hp, file);
  const std::string size = config_string(hp, "model_size", file).value_or("small");
  nlohmann::json args;
  if (size == "small")
    args = {{"hidden_size", 256}, {"num_hidden_layers", 12}};
  else if (size == "base")
    args = {{"hidden_size", 768}, {"num_hidden_layers", 12}};
  else if (size == "large")
    args = {{"hidden_size", 1024}, {"num_hidden_layers", 24}};
  else
    throw_bad_input(file, std::nullopt,
                    "\"model_size\" is \"" + size +
                        "\"; run_pretraining.py knows small, base and "
                        "large");
  nlohmann::json overrides = nlohmann::json::object();
  if (auto it = hp.find("model_hparam_overrides"); it != hp.end() && !it->is_null()) {
    if (!it->is_object())
      throw_bad_input(file, std::nullopt, "\"model_hparam_overrides\" is not an object");
    overrides = *it;
  }
  args.update(overrides);
  const uint64_t hidden = require_config_uint(args, "hidden_size", file);
  args["num_attention_heads"] = std::max<uint64_t>(1, hidden / 64);
  args["intermediate_size"] = 4 * hidden;
  args.update(overrides);
  args["vocab_size"] = config_uint(hp, "vocab_size", file).value_or(30522);
  args["embedding_size"] =
      config_uint(hp, "embedding_size", file).value_or(size == "small" ? 128 : hidden);
  if (generator) {
    const double width = config_number(hp, "generator_hidden_size", file).value_or(0.25);
    const double depth = config_number(hp, "generator_layers", file).value_or(1.0);
    const auto layers = require_config_uint(args, "num_hidden_layers", file);
    const auto g = static_cast<uint64_t>(std::llround(static_cast<double>(hidden) * width));
    args["hidden_size"] = g;
    args["num_hidden_layers"] = std::llround(static_cast<double>(layers) * depth);
    args["intermediate_size"] = 4 * g;
    args["num_attention_heads"] = std::max<uint64_t>(1, g / 64);
  }
  // The keys of Google's BertConfig (model/modeling.py) an override may set.
  nlohmann::json hf = google_bert_config(args, {});
  hf["vocab_size"] = args["vocab_size"];
  hf["embedding_size"] = args["embedding_size"];
  return with_defaults(hf, hf_defaults());
}

ModelConfig finish(nlohmann::json hf, const std::string& file) {
  ModelConfig config{{}, encoder_symbols(hf, file, "gelu")};
  config.hf = std::move(hf);
  return config;
}

bool names_class(const nlohmann::json& config, std::string_view name) {
  if (auto it = config.find("architectures"); it != config.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string() && a.get<std::string>() == name) return true;
  return false;
}

}  // namespace

bool ElectraFamily::matches_hf_config(const nlohmann::json& config) const {
  const auto type = config.find("model_type");
  const bool electra = type != config.end() && type->is_string() && *type == "electra";
  return electra && names_class(config, "ElectraForMaskedLM") == generator_;
}

std::string_view ElectraFamily::config_file(Convention c) const {
  switch (c) {
    case Convention::kHfPyTorch:
    case Convention::kHfTf2: return "config.json";
    case Convention::kOpenAiTf1: return "";
    case Convention::kGoogleTf1: return "electra_hparams.json";
  }
  return "";
}

ModelConfig ElectraFamily::read_config(Convention c, const std::string& text,
                                       const std::string& file) const {
  nlohmann::json source = parse_config_json(text, file);
  if (c == Convention::kGoogleTf1) return finish(from_hparams(source, generator_, file), file);
  return finish(with_defaults(source, hf_defaults()), file);
}

bool ElectraFamily::group_enabled(const ModelConfig& config, std::string_view group) const {
  // transformers builds embeddings_project only when the widths differ, as Google's code does.
  return group != "project" || config.symbols.at('E') != config.symbols.at('H');
}

bool ElectraFamily::group_required(const ModelConfig& config, std::string_view group) const {
  return group == "project" && group_enabled(config, group);
}

std::string ElectraFamily::unmatched_reason(Convention c, const std::string& name) const {
  if (c != Convention::kGoogleTf1) return {};
  if (!generator_ && (name.starts_with("generator/") || name.starts_with("generator_predictions/")))
    return "the generator's (converted with --class ElectraForMaskedLM)";
  if (generator_ &&
      (name.starts_with("electra/") || name.starts_with("discriminator_predictions/")))
    return "the discriminator's (converted without --class, or with --class ElectraForPreTraining)";
  return {};
}

const Family& ElectraFamily::for_hf_class(std::string_view hf_class) const {
  return hf_class == "ElectraForMaskedLM" ? electra_generator_family() : electra_family();
}

void ElectraFamily::bind_symbol(ModelConfig& config, char symbol, uint64_t value) const {
  config.symbols[symbol] = value;
  if (symbol == 'C') set_hf_labels(config.hf, value);
}

std::vector<std::string> ElectraFamily::check_expressible(
    Convention target, const ModelConfig& config, const std::vector<std::string>& groups) const {
  if (target != Convention::kGoogleTf1) return {};
  if (generator_)
    refuse_for_google(
        "Google's checkpoints hold the generator only beside its discriminator, whose size "
        "electra_hparams.json states and the generator's is a fraction of; convert the "
        "discriminator");
  if (std::find(groups.begin(), groups.end(), "classifier") != groups.end())
    refuse_for_google(
        "ElectraForSequenceClassification's head (dense, gelu, out_proj) has no counterpart in "
        "Google's run_finetuning.py, whose classifier is one dense layer");
  check_google_encoder(config.hf, "gelu", {"gelu", "relu", "tanh", "linear"},
                       "gelu, relu, tanh and linear");
  return {};
}

std::string ElectraFamily::write_config(Convention target, const ModelConfig& config,
                                        const HfClass* hf_class) const {
  if (target != Convention::kGoogleTf1)
    return hf_config_text(config, hf_class, "ElectraForSequenceClassification");
  // Every architecture key as an override, so that model_size decides nothing.
  const nlohmann::json overrides = google_bert_config(config.hf, {});
  return dump_sorted_json({{"model_size", "small"},
                           {"vocab_size", config.hf["vocab_size"]},
                           {"embedding_size", config.hf["embedding_size"]},
                           {"model_hparam_overrides", overrides}});
}

}  // namespace tensorferry
