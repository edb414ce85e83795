#include "core/training_state.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace tensorferry {
namespace {

// The variable path of a TF2 key ("x/.ATTRIBUTES/VARIABLE_VALUE" -> "x"); other names as they are.
std::string_view variable_path(std::string_view name) {
  const size_t attributes = name.find("/.ATTRIBUTES/");
  return attributes == std::string_view::npos ? name : name.substr(0, attributes);
}

std::string_view last_part(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string slot_name(std::string_view name) {
  std::string_view last = last_part(variable_path(name));
  // Keras' optimizer keeps its slots in a list ("optimizer/_variables/43"): an index, no name.
  if (!last.empty() && last.find_first_not_of("0123456789") == std::string_view::npos) return {};
  // Mesh TensorFlow (T5) Adafactor: "<variable>_slot_vr".
  if (const size_t mesh = last.rfind("_slot_"); mesh != std::string_view::npos)
    return std::string(last.substr(mesh + 6));
  return std::string(without_number_suffix(last));
}

// Names TF1 training scripts give the training state of tensors, for readers that mark none.
constexpr std::array<std::string_view, 10> kTf1SlotNames = {"adam_m",
                                                            "adam_v",
                                                            "Adam",
                                                            "Momentum",
                                                            "Adagrad",
                                                            "RMSProp",
                                                            "AdamWeightDecayOptimizer",
                                                            "LAMB",
                                                            "beta1_power",
                                                            "beta2_power"};
constexpr std::array<std::string_view, 5> kTf1CounterNames = {
    "global_step", "good_steps", "current_loss_scale", "loss_scale", "save_counter"};

std::optional<TrainingState> from_tf1_name(std::string_view name) {
  const std::string_view last = without_number_suffix(last_part(name));
  const bool slot =
      std::find(kTf1SlotNames.begin(), kTf1SlotNames.end(), last) != kTf1SlotNames.end();
  // Slots hang off their variable ("<variable>/Adam"); only the beta powers stand alone.
  if (slot && (last != name || last.starts_with("beta")))
    return TrainingState{TrainingState::Kind::kOptimizerSlot, std::string(last)};
  if (std::find(kTf1CounterNames.begin(), kTf1CounterNames.end(), name) != kTf1CounterNames.end())
    return TrainingState{TrainingState::Kind::kCounter, std::string(name)};
  return std::nullopt;
}

}  // namespace

std::string_view without_number_suffix(std::string_view s) {
  const size_t underscore = s.rfind('_');
  if (underscore == std::string_view::npos || underscore + 1 == s.size()) return s;
  for (char c : s.substr(underscore + 1))
    if (c < '0' || c > '9') return s;
  return s.substr(0, underscore);
}

std::optional<TrainingState> training_state_of(const TensorEntry& tensor, bool tf1_names) {
  switch (tensor.role) {
    case TensorRole::kObjectGraph: return TrainingState{TrainingState::Kind::kObjectGraph, ""};
    case TensorRole::kCounter:
      return TrainingState{TrainingState::Kind::kCounter, std::string(variable_path(tensor.name))};
    case TensorRole::kOptimizerSlot:
      return TrainingState{TrainingState::Kind::kOptimizerSlot, slot_name(tensor.name)};
    case TensorRole::kBuffer: return std::nullopt;
    case TensorRole::kWeight: break;
  }
  return tf1_names ? from_tf1_name(tensor.name) : std::nullopt;
}

std::string describe_training_state(const TrainingState& state) {
  switch (state.kind) {
    case TrainingState::Kind::kOptimizerSlot:
      return state.detail.empty() ? "optimizer slot" : "optimizer slot (" + state.detail + ")";
    case TrainingState::Kind::kCounter: return "training counter";
    case TrainingState::Kind::kObjectGraph: return "TF2 object graph (checkpoint bookkeeping)";
  }
  return "training state";
}

std::string summarize_training_state(const std::vector<TrainingState>& states) {
  size_t slots = 0;
  std::vector<std::string> slot_names, counters;
  bool object_graph = false;
  for (const auto& s : states) {
    switch (s.kind) {
      case TrainingState::Kind::kOptimizerSlot:
        ++slots;
        if (!s.detail.empty() &&
            std::find(slot_names.begin(), slot_names.end(), s.detail) == slot_names.end())
          slot_names.push_back(s.detail);
        break;
      case TrainingState::Kind::kCounter: counters.push_back(s.detail); break;
      case TrainingState::Kind::kObjectGraph: object_graph = true; break;
    }
  }
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
  };
  std::vector<std::string> parts;
  if (slots > 0)
    parts.push_back(std::to_string(slots) + (slots == 1 ? " optimizer slot" : " optimizer slots") +
                    (slot_names.empty() ? "" : " (" + join(slot_names) + ")"));
  // A handful of counters reads best by name; a long list (one per optimizer) is counted.
  if (counters.size() <= 4)
    parts.insert(parts.end(), counters.begin(), counters.end());
  else
    parts.push_back(std::to_string(counters.size()) + " training counters (" +
                    join({counters.begin(), counters.begin() + 3}) + ", ...)");
  if (object_graph) parts.emplace_back("TF2 object graph");
  return join(parts);
}

}  // namespace tensorferry
