// The hyperparameters a forward pass needs, read from each convention's own config file the way
// that framework reads it: HF config.json (GPT2Config / BertConfig defaults), OpenAI
// hparams.json (five integers; LayerNorm epsilon 1e-5 and tanh GELU are fixed in model.py),
// Google bert_config.json (BertConfig.from_dict defaults; epsilon 1e-12 is fixed in modeling.py).
#pragma once

#include <cstdint>
#include <string>

#include "verify/convention.h"

namespace tensorferry::verify {

enum class Activation {
  kGeluErf,    // 0.5·x·(1 + erf(x/√2)): HF "gelu"
  kGeluTanh,   // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): HF "gelu_new", OpenAI gelu
  kGeluFast,   // HF "gelu_fast": the same formula with the constant 0.7978845608
  kQuickGelu,  // x·sigmoid(1.702·x)
  kRelu,
  kSilu,
  kTanh,
  kLinear,
};

struct ModelConfig {
  Family family = Family::kGpt2;
  int64_t vocab_size = 0;
  int64_t max_positions = 0;  // rows of the position table
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t inner = 0;            // MLP width
  int64_t type_vocab_size = 0;  // BERT token types
  double layer_norm_eps = 0;
  Activation activation = Activation::kGeluErf;
  std::string activation_name;      // as the config spells it
  bool tie_word_embeddings = true;  // LM / MLM decoder uses the token table
  std::string file;                 // the config file read
};

// Reads the config `convention` uses from `file`. Throws Error(kBadInput) naming the file and
// key for anything missing, mistyped, out of range or not expressible by the forward pass.
ModelConfig read_model_config(Family family, Convention convention, const std::string& file);

// The config file name a convention keeps next to its weights.
std::string config_file_name(Convention convention);

// Parses an activation name with HF semantics ("gelu" is the erf form). nullopt when unknown.
std::optional<Activation> activation_from_name(const std::string& name);

}  // namespace tensorferry::verify
