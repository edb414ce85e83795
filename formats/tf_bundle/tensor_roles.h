// What each tensor of a TensorFlow checkpoint is for: a model weight, optimizer state, a counter,
// or the object graph itself.
//
// Object-based (TF2) checkpoints say it in their object graph: optimizer nodes carry slot variable
// references (legacy optimizers) or own an iteration counter (`iter`, Keras 3-style `_iterations`),
// and everything reached through an optimizer is optimizer state. Name-based (TF1) checkpoints only
// have the names their optimizers give slots (`var/Adam`, `var/adam_m`, ...).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace tensorferry::tf_bundle {

class TrackableObjectGraph;

constexpr std::string_view kObjectGraphKey = "_CHECKPOINTABLE_OBJECT_GRAPH";
constexpr std::string_view kAttributesMarker = "/.ATTRIBUTES/";
constexpr std::string_view kVariableValueSuffix = "/.ATTRIBUTES/VARIABLE_VALUE";

struct RoleHint {
  TensorRole role = TensorRole::kWeight;
  std::string note;
};

// Roles the object graph assigns, by checkpoint key.
std::map<std::string, RoleHint> roles_from_object_graph(const TrackableObjectGraph& graph);

// The role of `name` judged from the name alone (TF1 optimizer slot names, TF2 key paths).
TensorRole role_from_name(std::string_view name);

// The escaping TensorFlow applies to a local name in a key ("." -> "..", "/" -> ".S"), and back
// (nullopt when `escaped` is not a valid escaped name).
std::string escape_local_name(std::string_view name);
std::optional<std::string> unescape_local_name(std::string_view escaped);

}  // namespace tensorferry::tf_bundle
