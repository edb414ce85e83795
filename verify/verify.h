// `tensorferry verify A B`: runs the reference forward pass of the model family on both
// checkpoints, each read in its own convention, and compares the embeddings, every layer's
// hidden state and every output head. The library entry point for the CLI and for `convert`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "verify/bound.h"
#include "verify/forward.h"
#include "verify/identical_weights.h"

namespace tensorferry::verify {

struct VerifyOptions {
  // A stage passes when max |A − B| ≤ max_error + max_rel_error · (largest |value| of A's stage).
  double max_error = kDefaultMaxError;
  double max_rel_error = 0;                // a cast earns cast_max_rel_error() (verify/bound.h)
  std::optional<Convention> convention_a;  // instead of detecting it from tensor names
  std::optional<Convention> convention_b;
  // The family A (B) is read as, by name, when its tensors fit several (a Google ELECTRA
  // checkpoint holds a discriminator and a generator); "" = the detected one.
  std::string family_a;
  std::string family_b;
  std::vector<TokenSequence> sequences;  // run in addition to the fixed ones
  bool fixed_sequences = true;
  // A head (pooler, MLM, NSP, classifier, QA) present on one side only is a failure unless set.
  bool allow_missing_heads = false;
  // Hears of every stage as it is computed (A's) and compared (B's), when given.
  ProgressSink* progress = nullptr;
  // Runs the forward passes even when the weights are identical (see identical_weights.h).
  bool always_forward = false;
};

enum class StageStatus {
  kOk,          // compared, within the stage's bound
  kExceeds,     // compared, error above the stage's bound
  kNotFinite,   // a NaN or infinity in a stage's values, or in the weights before any stage
  kShape,       // both computed, different shapes
  kProblem,     // a side could not compute it (missing or misshapen tensor)
  kMissing,     // a side has no such stage (a head it does not carry, a layer it lacks)
  kNotReached,  // a side stopped at an earlier problem
  kSkipped,     // one-sided head, allowed by allow_missing_heads
};
std::string_view status_name(StageStatus status);
inline bool is_failure(StageStatus s) {
  return s != StageStatus::kOk && s != StageStatus::kSkipped;
}

struct StageReport {
  std::string name;
  int layer = -1;
  bool head = false;
  StageStatus status = StageStatus::kOk;
  int64_t rows = 0, cols = 0;  // of A's values
  double max_abs_error = 0;
  double mean_abs_error = 0;
  double max_abs_value = 0;  // largest finite |value| in A's stage: the scale of the bound
  double bound = 0;          // max_error + max_rel_error · max_abs_value
  uint64_t non_finite_a = 0, non_finite_b = 0;  // NaN and infinite values on each side
  // Where the largest error (or the first non-finite value) is: sequence (0-based), token
  // inside it, column.
  size_t sequence = 0;
  int64_t token = 0;
  int64_t column = 0;
  std::string note;
  std::vector<std::string> tensors_a;  // stored tensors the stage read on each side
  std::vector<std::string> tensors_b;
};

struct ModelSummary {
  std::string path, checkpoint, format, family, convention, config_file, activation;
  bool convention_forced = false;
  int64_t vocab_size = 0, layers = 0, hidden = 0, heads = 0, inner = 0;
  double layer_norm_eps = 0;
  std::string norm = "LayerNorm";  // or "RMSNorm" (LLaMA)
  int64_t kv_heads = 0;            // LLaMA: key/value heads
  std::string rope;                // LLaMA: rotary embeddings, as describe_rope writes them
  std::vector<std::string> unused_weights;
};

struct VerifyReport {
  ModelSummary a, b;
  std::vector<TokenSequence> sequences;
  double max_error = 0;
  double max_rel_error = 0;
  std::vector<StageReport> stages;
  std::optional<size_t> first_failure;  // index into stages
  bool passed = false;
  std::vector<std::string> notes;  // config differences, unused tensors, ...
  double seconds = 0;
  // Set when equal configs and bit-identical weights decided it: no forward pass ran and
  // `stages` is empty.
  std::optional<IdenticalWeights> identical;
};

// Opens both checkpoints (detecting convention and config), runs both forward passes and
// compares them. Throws Error(kBadInput) for unreadable input, Error(kUsage) for bad tokens;
// a checkpoint whose tensors do not fit its convention is a failed stage in the report.
VerifyReport verify_checkpoints(const std::string& path_a, const std::string& path_b,
                                const VerifyOptions& options);
VerifyReport verify_models(Model& a, Model& b, const VerifyOptions& options);

// Compares two forward passes stage by stage (exposed for tests). Stage pairs found in
// `compared` (by name) were compared while the passes ran, and their values dropped: their
// reports are taken from there.
std::vector<StageReport> compare_forward(
    const ForwardResult& a, const ForwardResult& b, const VerifyOptions& options,
    const std::map<std::string, StageReport>* compared = nullptr);
// Compares one stage of A with the stage of the same name of B.
StageReport compare_stages(const Stage& sa, const Stage& sb, const VerifyOptions& options);

ModelSummary summarize(const Model& model);

}  // namespace tensorferry::verify
