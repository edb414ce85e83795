#include "formats/tf_bundle/variable_names.h"

#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "core/error.h"
#include "core/limits.h"
#include "formats/tf_bundle/tensor_roles.h"
#include "formats/tf_bundle/trackable_object_graph.pb.h"

namespace tensorferry::tf_bundle {
namespace {

constexpr std::string_view kVariableValue = "VARIABLE_VALUE";

// The index of the object graph tensor, if the reader lists one.
std::optional<size_t> object_graph_index(const CheckpointReader& reader) {
  const auto& tensors = reader.tensors();
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == kObjectGraphKey) return i;
  return std::nullopt;
}

// Why `full_name` cannot be a variable's name (" has ..."), or "" when it can: TensorFlow names are
// '/'-separated non-empty components without ':' (which starts the output index) or controls.
std::string full_name_problem(std::string_view full_name) {
  if (full_name.empty()) return " has an empty full_name";
  if (full_name.size() > kMaxTensorNameBytes) return " has a full_name longer than 4096 bytes";
  if (full_name.front() == '/' || full_name.back() == '/' ||
      full_name.find("//") != std::string_view::npos)
    return " has a full_name with an empty component";
  for (char c : full_name)
    if (c == ':' || static_cast<unsigned char>(c) < 0x20)
      return " has a full_name with a ':' or a control character";
  return {};
}

class VariableNamedReader final : public CheckpointReader {
 public:
  explicit VariableNamedReader(std::unique_ptr<CheckpointReader> bundle)
      : bundle_(std::move(bundle)), tensors_(bundle_->tensors()) {
    const size_t graph = *object_graph_index(*bundle_);
    const std::map<std::string, std::string> full_names = read_full_names(graph);
    for (TensorEntry& t : tensors_) {
      if (t.role != TensorRole::kWeight) continue;
      const auto it = full_names.find(t.name);
      if (it == full_names.end())
        throw_bad_input(t.file, t.offset,
                        "no variable of the object graph is stored under this key (a truncated "
                        "or foreign _CHECKPOINTABLE_OBJECT_GRAPH?); tensorferry takes the "
                        "model's names from the graph",
                        t.name);
      std::string name = keras_weight_name(it->second);
      const auto [other, inserted] = object_paths_.emplace(name, t.name);
      if (!inserted)
        throw_bad_input(t.file, t.offset,
                        "the object graph gives this variable and \"" + other->second +
                            "\" the same full_name " + it->second,
                        t.name);
      t.note = "object path " + t.name;
      t.name = std::move(name);
    }
  }

  std::string format() const override { return bundle_->format(); }
  std::string path() const override { return bundle_->path(); }
  const std::vector<TensorEntry>& tensors() const override { return tensors_; }
  std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) override {
    return bundle_->read(index, scratch);
  }
  bool stream(size_t index, const PieceConsumer& consume,
              std::vector<std::byte>& scratch) override {
    return bundle_->stream(index, consume, scratch);
  }
  void release(size_t index) override { bundle_->release(index); }
  std::map<std::string, std::string> metadata() const override { return bundle_->metadata(); }

  // The checkpoint key of the weight listed as `name`, if it is one.
  const std::string* object_path(const std::string& name) const {
    const auto it = object_paths_.find(name);
    return it == object_paths_.end() ? nullptr : &it->second;
  }

 private:
  // checkpoint key -> full_name of every variable the graph records, each checked against the
  // bundle: a key it does not hold, or one key with two names, is a graph that does not describe
  // this checkpoint.
  std::map<std::string, std::string> read_full_names(size_t graph_index) {
    const TensorEntry& entry = tensors_[graph_index];
    const auto graph = parse_graph(graph_index);
    std::set<std::string> keys;
    for (const TensorEntry& t : tensors_) keys.insert(t.name);
    std::map<std::string, std::string> names;
    for (int id = 0; id < graph.nodes_size(); ++id) {
      for (const auto& attribute : graph.nodes(id).attributes()) {
        if (attribute.name() != kVariableValue) continue;
        const std::string& key = attribute.checkpoint_key();
        const std::string where = "object graph node " + std::to_string(id) + " (" + key + ")";
        if (!keys.count(key))
          throw_bad_input(entry.file, entry.offset,
                          where +
                              " names a tensor the bundle does not hold (is the checkpoint "
                              "complete?)",
                          entry.name);
        if (const std::string problem = full_name_problem(attribute.full_name()); !problem.empty())
          throw_bad_input(entry.file, entry.offset, where + problem, entry.name);
        const auto [it, inserted] = names.emplace(key, attribute.full_name());
        if (!inserted && it->second != attribute.full_name())
          throw_bad_input(entry.file, entry.offset,
                          where + " names the key with two full_names: " + it->second + " and " +
                              attribute.full_name(),
                          entry.name);
      }
    }
    return names;
  }

  TrackableObjectGraph parse_graph(size_t graph_index) {
    const TensorEntry& entry = tensors_[graph_index];
    std::vector<std::byte> scratch;
    // One string element, as the reader encodes it: u64 little-endian length, then the bytes.
    const auto bytes = bundle_->read(graph_index, scratch);
    uint64_t length = 0;
    if (bytes.size() >= 8) std::memcpy(&length, bytes.data(), 8);
    TrackableObjectGraph graph;
    if (!entry.shape.empty() || bytes.size() < 8 || length != bytes.size() - 8 ||
        !graph.ParseFromArray(bytes.data() + 8, static_cast<int>(length)))
      throw_bad_input(entry.file, entry.offset,
                      "object graph is not a serialized TrackableObjectGraph", entry.name);
    return graph;
  }

  std::unique_ptr<CheckpointReader> bundle_;
  std::vector<TensorEntry> tensors_;                 // the bundle's, weights renamed
  std::map<std::string, std::string> object_paths_;  // weight name -> checkpoint key
};

}  // namespace

bool is_object_based(const CheckpointReader& reader) {
  return reader.format() == "tf-bundle" && object_graph_index(reader).has_value();
}

std::unique_ptr<CheckpointReader> read_by_variable_names(std::unique_ptr<CheckpointReader> bundle) {
  if (!is_object_based(*bundle))
    throw_bad_input(bundle->path(), std::nullopt,
                    "is not a TF2 object-based checkpoint (no _CHECKPOINTABLE_OBJECT_GRAPH): its "
                    "keys are not object paths");
  return std::make_unique<VariableNamedReader>(std::move(bundle));
}

Error located_in_bundle(const Error& e, const CheckpointReader& reader) {
  const auto* named = dynamic_cast<const VariableNamedReader*>(&reader);
  const std::string* key = named ? named->object_path(e.tensor()) : nullptr;
  if (!key || e.offset() || e.file() != reader.path()) return e;
  for (const TensorEntry& t : reader.tensors())
    if (t.name == e.tensor())
      return {e.kind(), e.message() + " (object path " + *key + ")", t.file, t.name, t.offset};
  return e;
}

std::string keras_weight_name(const std::string& full_name) {
  const size_t first = full_name.find('/');
  if (first == std::string::npos) return full_name + ":0";
  const size_t second = full_name.find('/', first + 1);
  const std::string layer = full_name.substr(first + 1, second - first - 1);
  return layer + "/" + full_name + ":0";
}

}  // namespace tensorferry::tf_bundle
