#include "formats/torch/torch_unpickler.h"

#include "core/bytes.h"
#include "core/error.h"

namespace tensorferry {
namespace {

constexpr uint32_t kTagGlobal = 1;
constexpr uint32_t kTagStorage = 2;
constexpr uint32_t kTagTensor = 3;
constexpr uint32_t kTagObject = 4;

// More dimensions than any real tensor has (torch's own kernels stop well before); refused so
// that one tensor record stays small.
constexpr size_t kMaxDims = 64;
// Each tensor record copies its size and stride (16 bytes per dimension) while the pickle can
// rebuild the same memo'd arguments for 5 bytes; this bounds the total (a state dict of 100k
// tensors has well under 1M dimensions).
constexpr uint64_t kMaxTotalDims = 1u << 22;
// Tensor records (~100 bytes each) and storage references (32 bytes) are bounded the same way.
constexpr uint64_t kMaxRecords = 1u << 20;
// A broadcast (stride 0) tensor can be far larger dense than stored; read() must materialise it,
// so its dense size is bounded by the file size plus this much.
constexpr uint64_t kMaxExpansion = 1ull << 30;

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorKind::kBadInput, message); }

int64_t int_arg(const ValueStore& store, ValueId id, const char* what) {
  if (store.kind(id) != ValueKind::kInt)
    bad(std::string(what) + " is a " + std::string(value_kind_name(store.kind(id))) +
        ", not an int");
  return store.as_int(id);
}

uint64_t count_arg(const ValueStore& store, ValueId id, const char* what) {
  const int64_t v = int_arg(store, id, what);
  if (v < 0) bad(std::string(what) + " is negative (" + std::to_string(v) + ")");
  return static_cast<uint64_t>(v);
}

std::vector<uint64_t> counts_arg(const ValueStore& store, ValueId id, const char* what) {
  if (store.kind(id) != ValueKind::kTuple && store.kind(id) != ValueKind::kList)
    bad(std::string(what) + " is a " + std::string(value_kind_name(store.kind(id))) +
        ", not a tuple");
  const auto& items = store.items(id);
  if (items.size() > kMaxDims)
    bad(std::string(what) + " has " + std::to_string(items.size()) + " dimensions (at most " +
        std::to_string(kMaxDims) + ")");
  std::vector<uint64_t> out;
  out.reserve(items.size());
  for (ValueId item : items) out.push_back(count_arg(store, item, what));
  return out;
}

bool is_truthy_flag(const ValueStore& store, ValueId id) {
  const ValueKind k = store.kind(id);
  if (k == ValueKind::kBool || k == ValueKind::kInt) return store.as_int(id) != 0;
  bad("tensor metadata flag is a " + std::string(value_kind_name(k)) + ", not a bool");
}

// Decodes UTF-8 into code points that must all be < 256 (Python's str.encode("latin1")).
std::string encode_latin1(const std::string& utf8) {
  std::string out;
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F)));
      i += 2;
    } else {
      bad("_codecs.encode(..., 'latin1') of a character beyond U+00FF");
    }
  }
  return out;
}

}  // namespace

ValueId TorchUnpickler::find_global(ValueStore& store, const std::string& module,
                                    const std::string& name) {
  const std::string full = module + "." + name;
  if (auto it = global_index_.find(full); it != global_index_.end())
    return store.make_opaque(kTagGlobal, it->second);

  std::optional<Global> g;
  if (module == "collections" && name == "OrderedDict") {
    g = Global{full, Role::kOrderedDict};
  } else if (module == "torch._utils") {
    if (name == "_rebuild_tensor")
      g = Global{full, Role::kRebuildTensor};
    else if (name == "_rebuild_tensor_v2")
      g = Global{full, Role::kRebuildTensorV2};
    else if (name == "_rebuild_tensor_v3")
      g = Global{full, Role::kRebuildTensorV3};
    else if (name == "_rebuild_parameter")
      g = Global{full, Role::kRebuildParameter};
    else if (name == "_rebuild_parameter_with_state")
      g = Global{full, Role::kRebuildParameterWithState};
  } else if (module == "torch" || module == "torch.cuda" || module == "torch.storage") {
    if (name == "UntypedStorage" && module != "torch.cuda") {
      g = Global{full, Role::kStorageType, DType::kU8};
    } else if (module != "torch.storage" && name.ends_with("Storage")) {
      if (auto d = dtype_from_torch_storage(name)) g = Global{full, Role::kStorageType, *d};
    } else if (module == "torch" && name == "Size") {
      g = Global{full, Role::kSize};
    } else if (module == "torch") {
      if (auto d = dtype_from_torch_dtype(name)) g = Global{full, Role::kDType, *d};
    }
  } else if (module == "_codecs" && name == "encode") {
    g = Global{full, Role::kCodecsEncode};
  } else if (module == "argparse" && name == "Namespace") {
    g = Global{full, Role::kNamespace};
  }
  if (!g)
    bad("refusing global " + full +
        ": a PyTorch state dict never needs it, and tensorferry never runs code from a pickle");
  const size_t index = globals_.size();
  globals_.push_back(std::move(*g));
  global_index_.emplace(full, index);
  return store.make_opaque(kTagGlobal, index);
}

const TorchUnpickler::Global* TorchUnpickler::global_of(const ValueStore& store, ValueId id) const {
  if (store.kind(id) != ValueKind::kOpaque || store.opaque_tag(id) != kTagGlobal) return nullptr;
  return &globals_.at(store.opaque_index(id));
}

ValueId TorchUnpickler::call(ValueStore& store, ValueId callable, ValueId args) {
  const Global* g = global_of(store, callable);
  if (!g)
    bad("REDUCE calls a " + std::string(value_kind_name(store.kind(callable))) +
        ", which is not an allowed callable");
  const auto& a = store.items(args);
  switch (g->role) {
    case Role::kOrderedDict:
      if (!a.empty()) bad("collections.OrderedDict called with arguments");
      return store.make_container(ValueKind::kDict, {});
    case Role::kRebuildTensor:
    case Role::kRebuildTensorV2:
    case Role::kRebuildTensorV3: return rebuild_tensor(store, g->role, args);
    case Role::kRebuildParameter:
    case Role::kRebuildParameterWithState: {
      const size_t expected = g->role == Role::kRebuildParameter ? 3 : 4;
      if (a.size() != expected)
        bad(g->name + " takes " + std::to_string(expected) + " arguments, got " +
            std::to_string(a.size()));
      if (!tensor_of(store, a[0])) bad(g->name + " of something that is not a tensor");
      return a[0];  // requires_grad, hooks and Python attributes carry no tensor data
    }
    case Role::kSize:
      if (a.size() != 1) bad("torch.Size takes one argument");
      counts_arg(store, a[0], "torch.Size");
      return a[0];
    case Role::kCodecsEncode: {
      if (a.size() != 2 || store.kind(a[0]) != ValueKind::kString ||
          store.kind(a[1]) != ValueKind::kString)
        bad("_codecs.encode takes a string and an encoding name");
      const std::string& encoding = store.text(a[1]);
      if (encoding != "latin1" && encoding != "latin-1")
        bad("_codecs.encode with encoding \"" + encoding + "\" (only latin1 is allowed)");
      return store.make_text(ValueKind::kBytes, encode_latin1(store.text(a[0])));
    }
    case Role::kNamespace: return make_object(store, *g, args);
    case Role::kStorageType:
    case Role::kDType: break;
  }
  bad("refusing to call " + g->name + ": it is allowed only as a value");
}

ValueId TorchUnpickler::new_object(ValueStore& store, ValueId cls, ValueId args) {
  const Global* g = global_of(store, cls);
  if (g && g->role == Role::kOrderedDict && store.items(args).empty())
    return store.make_container(ValueKind::kDict, {});
  if (g && g->role == Role::kNamespace) return make_object(store, *g, args);
  bad("NEWOBJ of " + (g ? g->name : std::string(value_kind_name(store.kind(cls)))) +
      " is not allowed");
}

ValueId TorchUnpickler::make_object(ValueStore& store, const Global& cls, ValueId args) {
  if (!store.items(args).empty()) bad(cls.name + " created with arguments");
  if (objects_.size() >= kMaxRecords) bad("pickle creates too many objects");
  objects_.push_back({static_cast<size_t>(&cls - globals_.data()), std::nullopt});
  return store.make_opaque(kTagObject, objects_.size() - 1);
}

void TorchUnpickler::build(ValueStore& store, ValueId object, ValueId state) {
  const ValueKind sk = store.kind(state);
  if (store.kind(object) == ValueKind::kDict) {
    // OrderedDict.__reduce__ passes its instance __dict__ (state_dict's `_metadata`): inert
    // attributes that carry no tensors of the state dict itself.
    if (sk == ValueKind::kDict || sk == ValueKind::kNone || sk == ValueKind::kTuple) return;
    bad("BUILD of a dict with a " + std::string(value_kind_name(sk)) + " state");
  }
  if (store.kind(object) == ValueKind::kOpaque && store.opaque_tag(object) == kTagObject) {
    if (sk != ValueKind::kDict) bad("BUILD of an object with a non-dict state");
    objects_.at(store.opaque_index(object)).attributes = state;
    return;
  }
  bad("BUILD of a " + std::string(value_kind_name(store.kind(object))) + " is not allowed");
}

std::optional<size_t> TorchUnpickler::tensor_of(const ValueStore& store, ValueId id) const {
  if (store.kind(id) != ValueKind::kOpaque || store.opaque_tag(id) != kTagTensor)
    return std::nullopt;
  return store.opaque_index(id);
}

std::optional<ValueId> TorchUnpickler::attributes_of(const ValueStore& store, ValueId id) const {
  if (store.kind(id) != ValueKind::kOpaque || store.opaque_tag(id) != kTagObject)
    return std::nullopt;
  return objects_.at(store.opaque_index(id)).attributes;
}

std::optional<size_t> TorchUnpickler::storage_index(const std::string& key) const {
  auto it = storage_index_.find(key);
  if (it == storage_index_.end()) return std::nullopt;
  return it->second;
}

ValueId TorchUnpickler::persistent_load(ValueStore& store, ValueId pid, uint64_t position) {
  if (store.kind(pid) != ValueKind::kTuple)
    bad("persistent id is a " + std::string(value_kind_name(store.kind(pid))) + ", not a tuple");
  const auto& p = store.items(pid);
  const ValueKind k0 = p.empty() ? ValueKind::kNone : store.kind(p[0]);
  const std::string type_name =
      (k0 == ValueKind::kString || k0 == ValueKind::kBytes) ? store.text(p[0]) : "";
  if (type_name == "module")
    bad("persistent id of a pickled module class: the file holds a whole nn.Module, not a "
        "state dict; save model.state_dict() instead");
  if (type_name != "storage") bad("persistent id is not a ('storage', ...) tuple");
  const size_t expected = flavor_ == Flavor::kZip ? 5 : 6;
  if (p.size() != expected)
    bad("storage persistent id has " + std::to_string(p.size()) + " fields, expected " +
        std::to_string(expected));
  const Global* type = global_of(store, p[1]);
  if (!type || type->role != Role::kStorageType) bad("storage persistent id names no storage type");
  if (store.kind(p[2]) != ValueKind::kString) bad("storage key is not a string");
  if (store.kind(p[3]) != ValueKind::kString) bad("storage location is not a string");
  const std::string& key = store.text(p[2]);
  const uint64_t numel = count_arg(store, p[4], "storage size");
  const uint64_t element = dtype_size(type->dtype);
  const auto nbytes = checked_mul(numel, element);
  if (!nbytes || *nbytes > file_size_)
    bad("storage '" + key + "' claims " + std::to_string(numel) + " elements of " +
        std::to_string(element) + " bytes, more than the whole file holds");

  size_t index;
  if (auto it = storage_index_.find(key); it != storage_index_.end()) {
    index = it->second;
    const StorageDecl& d = storages_[index];
    if (d.dtype != type->dtype || d.numel != numel)
      bad("storage '" + key + "' is declared twice with different types or sizes");
  } else {
    index = storages_.size();
    storages_.push_back({key, type->dtype, numel, *nbytes, position});
    storage_index_.emplace(key, index);
  }

  StorageRef ref{index, 0, *nbytes, type->dtype};
  if (flavor_ == Flavor::kLegacy && store.kind(p[5]) != ValueKind::kNone) {
    // Pre-1.0 storage views: (view_key, offset, size) in elements of the storage type.
    if (store.kind(p[5]) != ValueKind::kTuple || store.items(p[5]).size() != 3)
      bad("storage view metadata is not a (key, offset, size) tuple");
    const auto& v = store.items(p[5]);
    const uint64_t offset = count_arg(store, v[1], "storage view offset");
    const uint64_t size = count_arg(store, v[2], "storage view size");
    const auto offset_bytes = checked_mul(offset, element);
    const auto size_bytes = checked_mul(size, element);
    const auto end =
        offset_bytes && size_bytes ? checked_add(*offset_bytes, *size_bytes) : std::nullopt;
    if (!end || *end > *nbytes) bad("storage view of '" + key + "' lies outside the storage");
    ref.byte_offset = *offset_bytes;
    ref.nbytes = *size_bytes;
  }
  if (storage_refs_.size() >= kMaxRecords)
    bad("pickle declares more than " + std::to_string(kMaxRecords) + " storage references");
  storage_refs_.push_back(ref);
  return store.make_opaque(kTagStorage, storage_refs_.size() - 1);
}

ValueId TorchUnpickler::rebuild_tensor(ValueStore& store, Role role, ValueId args) {
  const auto& a = store.items(args);
  const char* fn = role == Role::kRebuildTensor     ? "torch._utils._rebuild_tensor"
                   : role == Role::kRebuildTensorV2 ? "torch._utils._rebuild_tensor_v2"
                                                    : "torch._utils._rebuild_tensor_v3";
  // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, dtype]][, metadata])
  const size_t fixed = role == Role::kRebuildTensor ? 4 : role == Role::kRebuildTensorV2 ? 6 : 7;
  const bool has_metadata = role != Role::kRebuildTensor && a.size() == fixed + 1;
  if (a.size() != fixed && !has_metadata)
    bad(std::string(fn) + " called with " + std::to_string(a.size()) + " arguments");

  if (store.kind(a[0]) != ValueKind::kOpaque || store.opaque_tag(a[0]) != kTagStorage)
    bad(std::string(fn) + " of something that is not a storage");
  if (tensors_.size() >= kMaxRecords)
    bad("pickle rebuilds more than " + std::to_string(kMaxRecords) + " tensors");
  const StorageRef ref = storage_refs_.at(store.opaque_index(a[0]));
  TensorView t;
  t.storage = ref.storage;
  t.dtype = ref.dtype;
  const uint64_t offset = count_arg(store, a[1], "storage_offset");
  t.shape = counts_arg(store, a[2], "tensor size");
  t.strides = counts_arg(store, a[3], "tensor stride");
  total_dims_ += t.shape.size();
  if (total_dims_ > kMaxTotalDims)
    bad("tensors have more than " + std::to_string(kMaxTotalDims) +
        " dimensions in total (limit against memory exhaustion)");
  if (t.shape.size() != t.strides.size())
    bad("tensor size has " + std::to_string(t.shape.size()) + " dimensions but stride has " +
        std::to_string(t.strides.size()));
  if (role != Role::kRebuildTensor) {
    const ValueKind grad = store.kind(a[4]);
    if (grad != ValueKind::kBool && grad != ValueKind::kInt) bad("requires_grad is not a bool");
    if (store.kind(a[5]) != ValueKind::kDict && store.kind(a[5]) != ValueKind::kNone)
      bad("backward_hooks is not a dict");
  }
  if (role == Role::kRebuildTensorV3) {
    const Global* dtype = global_of(store, a[6]);
    if (!dtype || dtype->role != Role::kDType) bad(std::string(fn) + " dtype is not a torch dtype");
    t.dtype = dtype->dtype;
  }
  if (has_metadata) {
    const ValueId metadata = a[fixed];
    if (store.kind(metadata) != ValueKind::kDict) bad("tensor metadata is not a dict");
    const auto& m = store.items(metadata);
    for (size_t i = 0; i < m.size(); i += 2) {
      if (store.is_text(m[i], "conj"))
        t.conj = is_truthy_flag(store, m[i + 1]);
      else if (store.is_text(m[i], "neg"))
        t.neg = is_truthy_flag(store, m[i + 1]);
      else
        bad("tensor metadata has an unknown key (only conj and neg are understood)");
    }
    if (t.conj && t.dtype != DType::kC64 && t.dtype != DType::kC128)
      bad("conjugate bit on a tensor that is not complex");
    if (t.neg && !is_floating(t.dtype) && t.dtype != DType::kC64 && t.dtype != DType::kC128)
      bad("negative bit on a " + std::string(dtype_name(t.dtype)) +
          " tensor (only floating and complex tensors are supported)");
  }

  const uint64_t element = dtype_size(t.dtype);
  const auto numel = num_elements(t.shape);
  const auto dense = numel ? checked_mul(*numel, element) : std::nullopt;
  if (!dense || *dense > file_size_ + kMaxExpansion)
    bad("tensor of shape " + shape_to_string(t.shape) + " is larger than the file allows");
  t.nbytes = *dense;

  // Every element must lie inside the storage: offset + sum((size-1)*stride) < numel.
  const auto offset_bytes = checked_mul(offset, element);
  if (*numel > 0) {
    std::optional<uint64_t> last = offset;
    for (size_t d = 0; d < t.shape.size() && last; ++d) {
      const auto step = checked_mul(t.shape[d] - 1, t.strides[d]);
      last = step ? checked_add(*last, *step) : std::nullopt;
    }
    const auto last_end = last ? checked_add(*last, 1) : std::nullopt;
    const auto end_bytes = last_end ? checked_mul(*last_end, element) : std::nullopt;
    if (!offset_bytes || !end_bytes || *end_bytes > ref.nbytes)
      bad("tensor of shape " + shape_to_string(t.shape) + " at storage offset " +
          std::to_string(offset) + " reaches beyond its storage '" + storages_[ref.storage].key +
          "' of " + std::to_string(ref.nbytes) + " bytes");
    t.byte_offset = ref.byte_offset + *offset_bytes;
  } else {
    // No element is ever read; keep the offset inside the storage for display.
    t.byte_offset = ref.byte_offset + std::min(offset_bytes.value_or(ref.nbytes), ref.nbytes);
  }
  tensors_.push_back(std::move(t));
  return store.make_opaque(kTagTensor, tensors_.size() - 1);
}

}  // namespace tensorferry
