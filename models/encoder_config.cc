#include "models/encoder_config.h"

#include <algorithm>

#include "core/error.h"
#include "models/config_json.h"

namespace tensorferry {

Symbols encoder_symbols(const nlohmann::json& hf, const std::string& file,
                        const std::string& activation, const EncoderKeys& keys) {
  Symbols s;
  s['V'] = require_config_uint(hf, "vocab_size", file);
  s['H'] = require_config_uint(hf, keys.hidden, file);
  s['L'] = require_config_uint(hf, keys.layers, file);
  s['N'] = require_config_uint(hf, keys.heads, file);
  s['I'] = require_config_uint(hf, keys.inner, file);
  s['P'] = require_config_uint(hf, "max_position_embeddings", file);
  if (hf.contains("embedding_size")) s['E'] = require_config_uint(hf, "embedding_size", file);
  if (hf.contains("type_vocab_size")) s['T'] = require_config_uint(hf, "type_vocab_size", file);
  if (auto labels = hf_label_count(hf, file)) s['C'] = *labels;
  config_epsilon(hf, "layer_norm_eps", 1e-12, file);
  config_activation(hf, keys.activation, activation, file);
  if (s['H'] % s['N'] != 0)
    throw_bad_input(file, std::nullopt,
                    std::string(keys.hidden) + " " + std::to_string(s['H']) +
                        " is not a multiple of " + keys.heads + " " + std::to_string(s['N']));
  if (s['L'] > 100000 || s['H'] > (1u << 20) || s['V'] > (1u << 26) || s['P'] > (1u << 24) ||
      s['I'] > (1u << 24) || (s.contains('E') && s['E'] > (1u << 20)))
    throw_bad_input(file, std::nullopt, "implausibly large model dimensions");
  return s;
}

void refuse_for(Convention target, const std::string& why) {
  throw Error(ErrorKind::kUsage,
              std::string(convention_name(target)) + " cannot express this model: " + why);
}

void refuse_for_google(const std::string& why) { refuse_for(Convention::kGoogleTf1, why); }

std::string check_google_encoder(const nlohmann::json& hf, const std::string& activation,
                                 std::initializer_list<std::string_view> known,
                                 std::string_view known_text) {
  const std::string file = "config";
  const double eps = config_epsilon(hf, "layer_norm_eps", 1e-12, file);
  if (!same_float(eps, 1e-12))
    refuse_for_google("layer_norm_eps is " + nlohmann::json(eps).dump() +
                      " but Google's modeling.py hard-codes 1e-12");
  const std::string position =
      config_string(hf, "position_embedding_type", file).value_or("absolute");
  if (position != "absolute")
    refuse_for_google("position_embedding_type is \"" + position +
                      "\" but Google's modeling.py only has absolute position embeddings");
  if (config_bool(hf, "is_decoder", false) || config_bool(hf, "add_cross_attention", false))
    refuse_for_google(
        "it is a decoder (is_decoder / add_cross_attention) and Google's modeling.py is an "
        "encoder only");
  std::string act = config_activation(hf, "hidden_act", activation, file);
  if (std::find(known.begin(), known.end(), act) == known.end())
    refuse_for_google("hidden_act is \"" + act + "\" and Google's modeling.py only knows " +
                      std::string(known_text));
  return act;
}

nlohmann::json google_bert_config(const nlohmann::json& hf,
                                  std::initializer_list<std::string_view> more) {
  static constexpr std::string_view kArchitecture[] = {"attention_probs_dropout_prob",
                                                       "hidden_act",
                                                       "hidden_dropout_prob",
                                                       "hidden_size",
                                                       "initializer_range",
                                                       "intermediate_size",
                                                       "max_position_embeddings",
                                                       "num_attention_heads",
                                                       "num_hidden_layers",
                                                       "type_vocab_size"};
  nlohmann::json google = nlohmann::json::object();
  auto copy = [&](std::string_view key) {
    if (const auto it = hf.find(std::string(key)); it != hf.end()) google[std::string(key)] = *it;
  };
  for (std::string_view key : kArchitecture) copy(key);
  for (std::string_view key : more) copy(key);
  return google;
}

}  // namespace tensorferry
