// Training state: the tensors of a checkpoint that are not part of the model (optimizer slots,
// step counters, a TF2 object graph), described in the words every report uses, so that
// `convert` (which skips them) and `diff` (which finds them on one side only) say the same thing
// about the same tensor, and a report can sum them up by kind ("82 optimizer slots (Adam),
// global_step") instead of listing each.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace tensorferry {

struct TrainingState {
  enum class Kind { kOptimizerSlot, kCounter, kObjectGraph } kind;
  // The slot's name without the numbering of a second optimizer ("Adam" for var/Adam_1,
  // "adam_m", "m", "beta1_power"), the counter's name ("global_step"), "" for the object graph.
  std::string detail;
};

// "Adam_1" -> "Adam": TF1 numbers the slots of a second optimizer (and Adam's second moment).
std::string_view without_number_suffix(std::string_view name);

// What `tensor` is when it is training state: from the role its reader gave it, and, with
// `tf1_names`, from the names TF1 training scripts give slots and counters for tensors no reader
// marked. nullopt for weights and buffers.
std::optional<TrainingState> training_state_of(const TensorEntry& tensor, bool tf1_names);

// "optimizer slot (Adam)", "training counter", "TF2 object graph (checkpoint bookkeeping)".
std::string describe_training_state(const TrainingState& state);

// "82 optimizer slots (Adam, beta1_power, beta2_power), global_step": slots counted with their
// distinct names, counters named (counted when there are many), in the order first seen.
std::string summarize_training_state(const std::vector<TrainingState>& states);

}  // namespace tensorferry
