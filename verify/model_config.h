// The hyperparameters a forward pass needs, read from each convention's own config file the way
// that framework reads it (each family's reading is in models/<family>/<family>_verify.cc: HF
// config.json with the config class's defaults, OpenAI hparams.json, Google bert_config.json).
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

// Rotary position embeddings as transformers' modeling_rope_utils computes their frequencies.
enum class RopeScaling {
  kNone,    // inv_freq[d] = theta^(-2d/head_dim)
  kLinear,  // divided by `factor`
  kLlama3,  // Llama 3.1: long wavelengths divided by `factor`, a smooth blend in between
};

struct RopeConfig {
  double theta = 10000;
  RopeScaling scaling = RopeScaling::kNone;
  double factor = 1;
  double low_freq_factor = 1;             // llama3
  double high_freq_factor = 4;            // llama3
  int64_t original_max_positions = 8192;  // llama3

  bool operator==(const RopeConfig&) const = default;
};

struct ModelConfig {
  const Family* family = nullptr;
  int64_t vocab_size = 0;
  int64_t max_positions = 0;  // rows of the position table
  // The position id of a sequence's first token: RoBERTa's count from padding_idx + 1 (its
  // padding tokens take padding_idx), so a sequence fits when offset + length <= max_positions.
  int64_t position_offset = 0;
  int64_t pad_token_id = -1;  // RoBERTa's padding_idx; -1 when positions ignore padding
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t inner = 0;            // MLP width
  int64_t type_vocab_size = 0;  // BERT token types
  int64_t embedding_size = 0;   // width of the embedding tables when not `hidden` (ALBERT, ELECTRA)
  int64_t layer_groups = 0;     // ALBERT: the stored sets of block weights the layers share
  double layer_norm_eps = 0;
  Activation activation = Activation::kGeluErf;
  std::string activation_name;      // as the config spells it
  bool tie_word_embeddings = true;  // LM / MLM decoder uses the token table
  std::string file;                 // the config file read
  // LLaMA family (RMSNorm in layer_norm_eps, SwiGLU with `activation` as the gate's): `rotary`
  // says that the fields below apply.
  bool rotary = false;
  std::string model_type;  // "llama", "mistral", "qwen2"
  int64_t kv_heads = 0;    // num_key_value_heads (grouped-query attention)
  int64_t head_dim = 0;
  RopeConfig rope;
  bool qkv_bias = false, o_bias = false, mlp_bias = false;
  int64_t sliding_window = 0;  // a query sees the keys less than this many positions back; 0 = all

  // Every member: verify's shortcut (identical_weights) relies on a new member taking part.
  bool operator==(const ModelConfig&) const = default;
};

// Reads the config `convention` uses from `file`. Throws Error(kBadInput) naming the file and
// key for anything missing, mistyped, out of range or not expressible by the forward pass.
ModelConfig read_model_config(const Family& family, Convention convention, const std::string& file);

// "theta 10000", "theta 500000, llama3 scaling x8 (low 1, high 4, original 8192 positions)".
std::string describe_rope(const RopeConfig& rope);

// Parses an activation name with HF semantics ("gelu" is the erf form). nullopt when unknown.
std::optional<Activation> activation_from_name(const std::string& name);

}  // namespace tensorferry::verify
