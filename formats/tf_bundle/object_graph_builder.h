// Building the TrackableObjectGraph of an object-based (TF2) checkpoint from tensor names, so that
// tf.train.Checkpoint(...).restore() can match the values to Python objects.
//
// A name is a path of objects: `encoder/dense/kernel` is the variable `kernel` of the object
// `dense` of the object `encoder` of the root, and its value is stored under the key
// `encoder/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE`. Names that already are such keys (they
// contain `/.ATTRIBUTES/`) are taken as they are, with their path components unescaped.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tensorferry::tf_bundle {

class ObjectGraphBuilder {
 public:
  ObjectGraphBuilder();

  // Adds the object path `name` names and returns the checkpoint key its value goes under.
  // Throws Error(kUsage) for names that cannot be an object path (empty components, bad escapes).
  std::string add(const std::string& name);
  // Whether the root has a child object called `local_name`.
  bool has_root_child(const std::string& local_name) const;
  // The serialized TrackableObjectGraph: nodes numbered breadth-first from the root as TensorFlow
  // numbers them, children in the order they were first named.
  std::string serialize() const;

 private:
  struct Attribute {
    std::string name;
    std::string full_name;
    std::string checkpoint_key;
  };
  struct Node {
    std::vector<std::pair<std::string, size_t>> children;  // local name, node
    std::map<std::string, size_t> child_by_name;
    std::vector<Attribute> attributes;
  };
  std::vector<Node> nodes_;  // nodes_[0] is the root
};

}  // namespace tensorferry::tf_bundle
