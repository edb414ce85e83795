#include "formats/torch/tensor_names.h"

#include <unordered_set>

#include "core/error.h"
#include "core/limits.h"

namespace tensorferry {
namespace {

constexpr size_t kMaxDepth = 100;
constexpr uint64_t kMaxVisits = 1u << 24;

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorKind::kBadInput, message); }

class Walker {
 public:
  Walker(const ValueStore& store, const TorchUnpickler& env) : store_(store), env_(env) {}

  std::vector<NamedTensor> run(ValueId root) {
    if (auto t = env_.tensor_of(store_, root)) {
      add("tensor", *t);
    } else if (store_.is_container(root) || env_.attributes_of(store_, root)) {
      visit(root, "", 0);
    } else {
      // torch.save(None) or of a number: torch.load returns it, and no loader can take it as a
      // state dict. An empty dict, in contrast, is an empty checkpoint and is accepted.
      bad("the top-level pickled object (" + std::string(value_kind_name(store_.kind(root))) +
          ") is neither a tensor nor a dict, list or tuple of tensors: the file holds no "
          "checkpoint");
    }
    return std::move(found_);
  }

 private:
  static std::string join(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  }

  void add(std::string name, size_t tensor) {
    if (name.size() > kMaxTensorNameBytes)
      bad("a tensor name of " + std::to_string(name.size()) + " bytes, more than the " +
          std::to_string(kMaxTensorNameBytes) + " tensorferry accepts");
    if (!names_.insert(name).second) bad("two tensors are both named \"" + name + "\"");
    found_.push_back({std::move(name), tensor});
  }

  // The path element a dict key contributes, or nullopt when it is not a plain key.
  std::optional<std::string> key_text(ValueId key) const {
    switch (store_.kind(key)) {
      case ValueKind::kString: return store_.text(key);
      case ValueKind::kInt: return std::to_string(store_.as_int(key));
      case ValueKind::kBool: return store_.as_bool(key) ? "True" : "False";
      case ValueKind::kNone: return "None";
      default: return std::nullopt;
    }
  }

  bool holds_anything(ValueId v) const {
    return env_.tensor_of(store_, v) || store_.is_container(v) || env_.attributes_of(store_, v);
  }

  // Before descending into a container: every item that may hold a tensor may add a name, so
  // a container of millions of aliases of one tensor is refused before any name is built.
  void refuse_too_many_names(const std::vector<ValueId>& items) {
    uint64_t may_hold = 0;
    for (ValueId item : items) may_hold += holds_anything(item) ? 1 : 0;
    if (found_.size() + may_hold > kMaxTensorCount)
      bad("the checkpoint names more than " + std::to_string(kMaxTensorCount) +
          " tensors, more than tensorferry accepts (docs/hardening.md)");
  }

  // Whether a dict key is, or (in a tuple) contains, a tensor: torch.load would give it back,
  // but no name can be made of it, and skipping it would lose the tensor silently.
  bool holds_tensor(ValueId v, size_t depth) {
    if (env_.tensor_of(store_, v)) return true;
    if (!store_.is_container(v) || depth > kMaxDepth) return false;
    const auto& items = store_.items(v);
    visits_ += items.size();
    if (visits_ > kMaxVisits) return false;  // visit() refuses the graph at its next step
    for (ValueId item : items)
      if (holds_tensor(item, depth + 1)) return true;
    return false;
  }

  void child(ValueId v, const std::string& name, size_t depth) {
    if (auto t = env_.tensor_of(store_, v))
      add(name, *t);
    else
      visit(v, name, depth + 1);
  }

  void visit(ValueId v, const std::string& prefix, size_t depth) {
    if (++visits_ > kMaxVisits)
      bad("the pickled object graph is too large to search for tensors (shared references "
          "expand beyond " +
          std::to_string(kMaxVisits) + " steps)");
    if (auto attributes = env_.attributes_of(store_, v)) {
      visit(*attributes, prefix, depth);  // an argparse.Namespace: attributes act as keys
      return;
    }
    if (!store_.is_container(v)) return;
    if (depth > kMaxDepth)
      bad("objects nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (!on_path_.insert(v).second) return;  // a cycle: everything on it is already being visited
    const auto& items = store_.items(v);
    visits_ += items.size();  // scanning the items costs time even where none holds a tensor
    refuse_too_many_names(items);
    if (store_.kind(v) == ValueKind::kDict) {
      for (size_t i = 0; i + 1 < items.size(); i += 2) {
        if (holds_tensor(items[i], 0))
          bad("a tensor is used as a dict key under \"" + prefix +
              "\": only str and int keys can name tensors");
        if (!holds_anything(items[i + 1])) continue;
        auto key = key_text(items[i]);
        if (!key)
          bad("a dict key of type " + std::string(value_kind_name(store_.kind(items[i]))) +
              " under \"" + prefix + "\" holds objects; only str and int keys can name tensors");
        child(items[i + 1], join(prefix, *key), depth);
      }
    } else {
      for (size_t i = 0; i < items.size(); ++i)
        if (holds_anything(items[i])) child(items[i], join(prefix, std::to_string(i)), depth);
    }
    on_path_.erase(v);
  }

  const ValueStore& store_;
  const TorchUnpickler& env_;
  std::vector<NamedTensor> found_;
  std::unordered_set<std::string> names_;
  std::unordered_set<ValueId> on_path_;
  uint64_t visits_ = 0;
};

}  // namespace

std::string first_tensor_of_storage(const ValueStore& store, const TorchUnpickler& env,
                                    ValueId root, size_t storage) {
  try {
    for (const auto& named : name_tensors(store, env, root))
      if (env.tensors()[named.tensor].storage == storage) return named.name;
  } catch (const Error&) {
    // The walk's own refusal is reported when the reader names the tensors for real.
  }
  return {};
}

std::vector<NamedTensor> name_tensors(const ValueStore& store, const TorchUnpickler& env,
                                      ValueId root) {
  return Walker(store, env).run(root);
}

}  // namespace tensorferry
