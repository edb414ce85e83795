// What the configs of the BERT lineage (BERT, ALBERT, ELECTRA) share: the same keys for the
// same dimensions, checked the same way before any of them is trusted.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "models/family.h"

namespace tensorferry {

// The config keys of the dimensions and the activation: BertConfig's, which DistilBertConfig
// spells otherwise (dim, n_layers, n_heads, hidden_dim, activation).
struct EncoderKeys {
  const char* hidden = "hidden_size";
  const char* layers = "num_hidden_layers";
  const char* heads = "num_attention_heads";
  const char* inner = "intermediate_size";
  const char* activation = "hidden_act";
};

// The shape symbols of an HF config.json object of the lineage: V vocab_size, P
// max_position_embeddings, H hidden_size, I intermediate_size, L num_hidden_layers, N
// num_attention_heads (or the `keys` given), and when the config has them E embedding_size, T
// type_vocab_size and C the number of labels. Throws kBadInput naming `file` for a missing or
// malformed dimension, a width the heads do not divide, implausible sizes, and (for every target,
// so that no conversion publishes a model no framework runs) a bad layer_norm_eps or an unknown
// activation, whose default is `activation`.
Symbols encoder_symbols(const nlohmann::json& hf, const std::string& file,
                        const std::string& activation, const EncoderKeys& keys = {});

// Throws Error(kUsage) "<target> cannot express this model: `why`".
[[noreturn]] void refuse_for(Convention target, const std::string& why);
[[noreturn]] void refuse_for_google(const std::string& why);

// Refuses what Google's TF1 modeling.py of the lineage hard-codes otherwise: a LayerNorm epsilon
// other than 1e-12, position embeddings other than absolute, a decoder, and a hidden_act (as
// transformers spells it; `activation` when absent) outside `known`, which `known_text` names in
// the message. Returns the activation.
std::string check_google_encoder(const nlohmann::json& hf, const std::string& activation,
                                 std::initializer_list<std::string_view> known,
                                 std::string_view known_text);

// The keys of Google's BertConfig (modeling.py of google-research/bert, which ALBERT's and
// ELECTRA's extend or reuse) that `hf` has: the architecture (sizes, activation, dropouts,
// initializer range) but the vocabulary, plus the keys `more` names.
nlohmann::json google_bert_config(const nlohmann::json& hf,
                                  std::initializer_list<std::string_view> more);

}  // namespace tensorferry
