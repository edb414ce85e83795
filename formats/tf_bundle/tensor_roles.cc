#include "formats/tf_bundle/tensor_roles.h"

#include <algorithm>
#include <deque>
#include <vector>

#include "core/training_state.h"
#include "formats/tf_bundle/trackable_object_graph.pb.h"

namespace tensorferry::tf_bundle {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

bool contains(std::initializer_list<std::string_view> set, std::string_view s) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// Last name component of TF1 slot variables: `<variable>/<optimizer name>[_N]` for
// tf.compat.v1.train optimizers, fixed names for Google BERT's AdamWeightDecayOptimizer
// (`adam_m`, `adam_v`) and Grover-style Adafactor (`adafactor_vr`, ...).
bool is_tf1_slot_name(std::string_view last) {
  if (contains({"adam_m", "adam_v", "adafactor_vr", "adafactor_vc", "adafactor_v", "adafactor_m"},
               last))
    return true;
  return contains({"Adam", "Momentum", "RMSProp", "Adagrad", "AdagradDA", "Adadelta", "Ftrl",
                   "ProximalAdagrad", "LazyAdam", "AdamWeightDecayOptimizer", "LAMB", "Adafactor"},
                  without_number_suffix(last));
}

// Counters of the optimizers themselves (OptimizerV2 `iter`, Keras `iterations`/`_iterations`).
bool is_step_counter_name(std::string_view name) {
  return contains({"iter", "iterations", "_iterations"}, name);
}

}  // namespace

std::string escape_local_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '.')
      out += "..";
    else if (c == '/')
      out += ".S";
    else
      out += c;
  }
  return out;
}

std::optional<std::string> unescape_local_name(std::string_view escaped) {
  std::string out;
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '.') {
      out += escaped[i];
      continue;
    }
    if (i + 1 == escaped.size()) return std::nullopt;
    const char next = escaped[++i];
    if (next == '.')
      out += '.';
    else if (next == 'S')
      out += '/';
    else
      return std::nullopt;
  }
  return out;
}

std::map<std::string, RoleHint> roles_from_object_graph(const TrackableObjectGraph& graph) {
  const int n = graph.nodes_size();
  auto valid = [n](int id) { return id >= 0 && id < n; };

  // Breadth-first from the root, as TensorFlow names objects: each node's parent on its shortest
  // path and the name of that edge.
  std::vector<int> parent(n, -1);
  std::vector<std::string> edge_name(n);
  std::vector<bool> seen(n, false);
  std::deque<int> queue;
  if (n > 0) {
    seen[0] = true;
    queue.push_back(0);
  }
  while (!queue.empty()) {
    const int id = queue.front();
    queue.pop_front();
    for (const auto& child : graph.nodes(id).children()) {
      if (!valid(child.node_id()) || seen[child.node_id()]) continue;
      seen[child.node_id()] = true;
      parent[child.node_id()] = id;
      edge_name[child.node_id()] = child.local_name();
      queue.push_back(child.node_id());
    }
  }

  auto is_optimizer = [&](int id) {
    const auto& node = graph.nodes(id);
    if (node.slot_variables_size() > 0) return true;
    for (const auto& child : node.children())
      if (is_step_counter_name(child.local_name())) return true;
    return false;
  };

  auto first_key = [&](int id) -> std::string {
    if (!valid(id)) return "?";
    const auto& node = graph.nodes(id);
    return node.attributes_size() > 0 ? node.attributes(0).checkpoint_key()
                                      : "node " + std::to_string(id);
  };

  std::map<std::string, RoleHint> hints;
  // Slot variables hang off the variable they belong to, not off the optimizer.
  for (int id = 0; id < n; ++id) {
    for (const auto& slot : graph.nodes(id).slot_variables()) {
      if (!valid(slot.slot_variable_node_id())) continue;
      for (const auto& attribute : graph.nodes(slot.slot_variable_node_id()).attributes())
        hints[attribute.checkpoint_key()] = {TensorRole::kOptimizerSlot,
                                             "optimizer slot '" + slot.slot_name() + "' of " +
                                                 first_key(slot.original_variable_node_id())};
    }
  }
  for (int id = 0; id < n; ++id) {
    const auto& node = graph.nodes(id);
    if (node.attributes_size() == 0 || !seen[id]) continue;
    std::optional<RoleHint> hint;
    for (int up = parent[id]; up >= 0 && !hint; up = parent[up]) {
      if (!is_optimizer(up)) continue;
      if (parent[id] == up && is_step_counter_name(edge_name[id]))
        hint = RoleHint{TensorRole::kCounter, "optimizer step counter"};
      else
        hint = RoleHint{TensorRole::kOptimizerSlot, "optimizer state"};
    }
    if (!hint && parent[id] == 0 && edge_name[id] == "save_counter")
      hint = RoleHint{TensorRole::kCounter, "tf.train.Checkpoint save counter"};
    if (!hint) continue;
    for (const auto& attribute : node.attributes())
      hints.try_emplace(attribute.checkpoint_key(), *hint);
  }
  return hints;
}

TensorRole role_from_name(std::string_view name) {
  if (name == kObjectGraphKey) return TensorRole::kObjectGraph;
  if (const size_t marker = name.find(kAttributesMarker); marker != std::string_view::npos) {
    const std::string_view path = name.substr(0, marker);
    if (path.find("/.OPTIMIZER_SLOT/") != std::string_view::npos) return TensorRole::kOptimizerSlot;
    const auto parts = split_path(path);
    if (parts.size() == 1 && contains({"save_counter", "global_step"}, parts[0]))
      return TensorRole::kCounter;
    if (std::find(parts.begin(), parts.end(), "optimizer") != parts.end())
      return is_step_counter_name(parts.back()) ? TensorRole::kCounter : TensorRole::kOptimizerSlot;
    return TensorRole::kWeight;
  }
  const auto parts = split_path(name);
  const std::string_view last = parts.back();
  if (last == "global_step") return TensorRole::kCounter;
  if (without_number_suffix(last) == "beta1_power" || without_number_suffix(last) == "beta2_power")
    return TensorRole::kOptimizerSlot;
  if (parts.size() >= 2 && is_tf1_slot_name(last)) return TensorRole::kOptimizerSlot;
  // Mesh TensorFlow (T5) Adafactor slots: `<variable>_slot_vr`, `_slot_vc`, `_slot_v`, `_slot_m`.
  for (std::string_view suffix : {"_slot_vr", "_slot_vc", "_slot_v", "_slot_m"})
    if (ends_with(last, suffix)) return TensorRole::kOptimizerSlot;
  // Keras OptimizerV2 variables saved by a name-based Saver: `Adam/iter`, `Adam/dense/kernel/m`.
  if (parts.size() >= 2 && contains({"Adam", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                                     "Nadam", "Ftrl", "AdamW"},
                                    parts.front()))
    return parts.size() == 2 && is_step_counter_name(last) ? TensorRole::kCounter
                                                           : TensorRole::kOptimizerSlot;
  return TensorRole::kWeight;
}

}  // namespace tensorferry::tf_bundle
