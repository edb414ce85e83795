// Records the stages of a forward pass, turning a WeightProblem into a stage that says why it
// could not be computed (shared by the GPT-2 and BERT passes).
#pragma once

#include <string>
#include <utility>

#include "verify/forward.h"

namespace tensorferry::verify {

class StageRecorder {
 public:
  StageRecorder(ModelWeights& weights, ForwardResult& result, const StageObserver& observe)
      : weights_(weights), result_(result), observe_(observe) {}

  // Evaluates `compute` (which returns the stage's Matrix) and records it as stage `name` with
  // row ranges `offsets`. Returns false when it stopped on a WeightProblem, recorded instead.
  template <typename Compute>
  bool run(std::string name, int layer, bool head, const std::vector<int64_t>& offsets,
           Compute&& compute) {
    Stage stage;
    stage.name = std::move(name);
    stage.layer = layer;
    stage.head = head;
    stage.offsets = offsets;
    weights_.take_read_log();
    bool ok = true;
    try {
      stage.values = compute();
    } catch (const WeightProblem& problem) {
      stage.problem = problem.what();
      ok = false;
    }
    stage.tensors = weights_.take_read_log();
    if (observe_) observe_(stage);
    result_.stages.push_back(std::move(stage));
    return ok;
  }

 private:
  ModelWeights& weights_;
  ForwardResult& result_;
  const StageObserver& observe_;
};

// Row offsets of the concatenated sequences, and one-row-per-sequence offsets for pooled heads.
inline std::vector<int64_t> sequence_offsets(const std::vector<TokenSequence>& sequences) {
  std::vector<int64_t> offsets = {0};
  for (const auto& s : sequences)
    offsets.push_back(offsets.back() + static_cast<int64_t>(s.tokens.size()));
  return offsets;
}

// Every sequence's tokens one after another (the rows of every stage), with each token's
// position inside its sequence and its segment id (0 when the sequence gives none).
struct FlatTokens {
  std::vector<int64_t> tokens, positions, types;
};
inline FlatTokens flatten(const std::vector<TokenSequence>& sequences) {
  FlatTokens flat;
  for (const auto& s : sequences)
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      flat.tokens.push_back(s.tokens[i]);
      flat.positions.push_back(static_cast<int64_t>(i));
      flat.types.push_back(s.token_types.empty() ? 0 : s.token_types[i]);
    }
  return flat;
}

inline std::vector<int64_t> one_row_each(size_t count) {
  std::vector<int64_t> offsets;
  for (size_t i = 0; i <= count; ++i) offsets.push_back(static_cast<int64_t>(i));
  return offsets;
}

}  // namespace tensorferry::verify
