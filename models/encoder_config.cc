#include "models/encoder_config.h"

#include "core/error.h"
#include "models/config_json.h"

namespace tensorferry {

Symbols encoder_symbols(const nlohmann::json& hf, const std::string& file,
                        const std::string& activation) {
  Symbols s;
  s['V'] = require_config_uint(hf, "vocab_size", file);
  s['H'] = require_config_uint(hf, "hidden_size", file);
  s['L'] = require_config_uint(hf, "num_hidden_layers", file);
  s['N'] = require_config_uint(hf, "num_attention_heads", file);
  s['I'] = require_config_uint(hf, "intermediate_size", file);
  s['P'] = require_config_uint(hf, "max_position_embeddings", file);
  if (hf.contains("embedding_size")) s['E'] = require_config_uint(hf, "embedding_size", file);
  if (hf.contains("type_vocab_size")) s['T'] = require_config_uint(hf, "type_vocab_size", file);
  if (auto labels = hf_label_count(hf, file)) s['C'] = *labels;
  config_epsilon(hf, "layer_norm_eps", 1e-12, file);
  config_activation(hf, "hidden_act", activation, file);
  if (s['H'] % s['N'] != 0)
    throw_bad_input(file, std::nullopt,
                    "hidden_size " + std::to_string(s['H']) +
                        " is not a multiple of num_attention_heads " + std::to_string(s['N']));
  if (s['L'] > 100000 || s['H'] > (1u << 20) || s['V'] > (1u << 26) || s['P'] > (1u << 24) ||
      s['I'] > (1u << 24) || (s.contains('E') && s['E'] > (1u << 20)))
    throw_bad_input(file, std::nullopt, "implausibly large model dimensions");
  return s;
}

}  // namespace tensorferry
