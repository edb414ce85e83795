// Reference forward passes, stage by stage: what every family's pass (verify/family.h) produces,
// and the checks and inputs they share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "verify/kernels.h"
#include "verify/model.h"

namespace tensorferry::verify {

struct TokenSequence {
  std::vector<int64_t> tokens;
  std::vector<int64_t> token_types;  // segment ids (BERT); empty = all 0
};

// One observable intermediate result of a forward pass over all sequences at once.
struct Stage {
  std::string name;   // "embeddings", "layer 3 attention", "layer 3", "logits", "pooler", ...
  int layer = -1;     // transformer layer the stage belongs to; -1 for embeddings and heads
  bool head = false;  // an output head that a checkpoint may or may not carry
  Matrix values;      // rows of sequence s: [offsets[s], offsets[s+1])
  std::vector<int64_t> offsets;
  std::string problem;               // set when the stage could not be computed, and why
  std::vector<std::string> tensors;  // stored names of the tensors the stage read
};

struct ForwardResult {
  std::vector<Stage> stages;
  std::vector<std::string> unused_weights;
};

// Sees each stage as soon as it is recorded, before the pass goes on. verify compares it there
// with the other side's stage and drops both stages' values, so that the values of all stages
// (for GPT-2-XL about 110 MB per side) are never held for both sides at once.
using StageObserver = std::function<void(Stage&)>;

// Throws Error(kUsage) for a sequence the model cannot take: empty, longer than its positions,
// tokens or token types outside its tables.
void check_sequences(const Model& model, const std::vector<TokenSequence>& sequences);

// Runs the model's family with its convention's semantics on every sequence. A checkpoint whose
// tensors do not fit (missing, misshapen) yields a stage with `problem` set; the stages that
// depend on it are left out. Throws Error(kUsage) for tokens outside the model's tables.
ForwardResult run_forward(Model& model, const std::vector<TokenSequence>& sequences,
                          const StageObserver& observe = {});

// Fixed, deterministic sequences that fit both configs: three sequences of 7, 19 and 40 tokens
// (capped at the position table), spread over the whole vocabulary including its first and last
// id; for models with token types the second half of each sequence is segment 1.
std::vector<TokenSequence> default_sequences(const ModelConfig& a, const ModelConfig& b);

// Stage names in the order the passes produce them, for one config (for reports and tests).
std::vector<std::string> stage_names(const ModelConfig& config);

}  // namespace tensorferry::verify
