#include "formats/tf_bundle/object_graph_builder.h"

#include <deque>

#include "core/error.h"
#include "formats/tf_bundle/tensor_roles.h"
#include "formats/tf_bundle/trackable_object_graph.pb.h"

namespace tensorferry::tf_bundle {
namespace {

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    parts.emplace_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

}  // namespace

ObjectGraphBuilder::ObjectGraphBuilder() : nodes_(1) {}

std::string ObjectGraphBuilder::add(const std::string& name) {
  std::vector<std::string> local_names;
  Attribute attribute;
  if (const size_t marker = name.find(kAttributesMarker); marker != std::string::npos) {
    attribute.name = name.substr(marker + kAttributesMarker.size());
    attribute.checkpoint_key = name;
    for (const auto& escaped : split(std::string_view(name).substr(0, marker))) {
      auto local = unescape_local_name(escaped);
      if (!local || local->empty())
        throw Error(
            ErrorKind::kUsage,
            "not a valid object-based checkpoint key (bad path component \"" + escaped + "\")", {},
            name);
      local_names.push_back(std::move(*local));
    }
    if (attribute.name.empty() || attribute.name.find('/') != std::string::npos)
      throw Error(ErrorKind::kUsage, "not a valid object-based checkpoint key (attribute name)", {},
                  name);
  } else {
    local_names = split(name);
    attribute.name = "VARIABLE_VALUE";
    for (const auto& local : local_names) {
      if (local.empty())
        throw Error(ErrorKind::kUsage,
                    "cannot be an object path: it has an empty component between slashes", {},
                    name);
      attribute.checkpoint_key += escape_local_name(local) + "/";
    }
    attribute.checkpoint_key.pop_back();
    attribute.checkpoint_key += kVariableValueSuffix;
  }
  // full_name is what a TF1 name-based Saver looks the value up by when it restores an
  // object-based checkpoint: the variable's graph name, i.e. the path with plain slashes.
  for (const auto& local : local_names) attribute.full_name += local + "/";
  attribute.full_name.pop_back();

  size_t node = 0;
  for (const auto& local : local_names) {
    auto it = nodes_[node].child_by_name.find(local);
    if (it == nodes_[node].child_by_name.end()) {
      const size_t child = nodes_.size();
      nodes_.emplace_back();
      nodes_[node].children.emplace_back(local, child);
      it = nodes_[node].child_by_name.emplace(local, child).first;
    }
    node = it->second;
  }
  nodes_[node].attributes.push_back(attribute);
  return attribute.checkpoint_key;
}

bool ObjectGraphBuilder::has_root_child(const std::string& local_name) const {
  return nodes_[0].child_by_name.count(local_name) > 0;
}

std::string ObjectGraphBuilder::serialize() const {
  // Renumber breadth-first: the builder's numbering follows insertion order, TensorFlow's follows
  // the traversal.
  std::vector<size_t> order;
  std::vector<int> new_id(nodes_.size(), -1);
  std::deque<size_t> queue{0};
  new_id[0] = 0;
  while (!queue.empty()) {
    const size_t node = queue.front();
    queue.pop_front();
    order.push_back(node);
    for (const auto& [local, child] : nodes_[node].children) {
      new_id[child] = static_cast<int>(order.size() + queue.size());
      queue.push_back(child);
    }
  }
  TrackableObjectGraph graph;
  for (size_t node : order) {
    auto* object = graph.add_nodes();
    for (const auto& [local, child] : nodes_[node].children) {
      auto* ref = object->add_children();
      ref->set_node_id(new_id[child]);
      ref->set_local_name(local);
    }
    for (const auto& a : nodes_[node].attributes) {
      auto* tensor = object->add_attributes();
      tensor->set_name(a.name);
      tensor->set_full_name(a.full_name);
      tensor->set_checkpoint_key(a.checkpoint_key);
    }
    // Every node of this tree leads to a value; TensorFlow marks such nodes.
    object->mutable_has_checkpoint_values()->set_value(true);
  }
  return graph.SerializeAsString();
}

}  // namespace tensorferry::tf_bundle
