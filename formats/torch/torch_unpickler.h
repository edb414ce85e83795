// What a PyTorch state-dict pickle may name, and what each name means, as inert data.
//
// The allowlist is the smallest set torch.save itself emits for tensors and plain containers:
//   collections.OrderedDict                      -> an ordered dict (called with no arguments)
//   torch._utils._rebuild_tensor[_v2|_v3]        -> a tensor record (strided view of a storage)
//   torch._utils._rebuild_parameter[_with_state] -> the tensor it wraps
//   torch.<X>Storage, torch.storage.UntypedStorage (also torch.cuda.<X>Storage) -> storage types,
//                                                   usable only inside a persistent id
//   torch.<dtype> (torch.float32, ...)           -> a dtype, usable only as _rebuild_tensor_v3's
//   torch.Size                                   -> the tuple it wraps
//   _codecs.encode(str, "latin1")                -> bytes (how protocol 2 pickles `bytes`)
//   argparse.Namespace                           -> an attribute bag (training scripts save args)
// Every other GLOBAL / STACK_GLOBAL / INST is refused by name. Nothing is ever called: "calling"
// an allowed name validates the arguments and records what torch would have built.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "formats/torch/pickle_machine.h"

namespace tensorferry {

// A storage as persistent ids declare it; its bytes are the record `data/<key>` (zip) or the
// blob after the key list (legacy).
struct StorageDecl {
  std::string key;
  DType dtype;               // of the storage class; kU8 for UntypedStorage (numel counts bytes)
  uint64_t numel = 0;        // elements of dtype
  uint64_t nbytes = 0;       // numel * element size
  uint64_t declared_at = 0;  // offset in the pickle of the persistent id that first names it
};

// A tensor as a rebuild call describes it: a strided view into one storage.
struct TensorView {
  size_t storage = 0;        // index into TorchUnpickler::storages()
  uint64_t byte_offset = 0;  // of element 0 from the storage's first byte
  DType dtype = DType::kF32;
  Shape shape;
  std::vector<uint64_t> strides;  // in elements, one per dimension
  uint64_t nbytes = 0;            // dense size
  bool conj = false;              // complex conjugate bit (torch "conj" metadata)
  bool neg = false;               // negative bit (torch "neg" metadata)
};

class TorchUnpickler final : public PickleEnvironment {
 public:
  enum class Flavor {
    kZip,     // persistent ids ('storage', type, key, location, numel)
    kLegacy,  // ('storage', type, key, location, numel, view_metadata)
  };
  // `file_size` bounds every storage and tensor size a pickle may declare.
  TorchUnpickler(Flavor flavor, uint64_t file_size) : flavor_(flavor), file_size_(file_size) {}

  ValueId find_global(ValueStore& store, const std::string& module,
                      const std::string& name) override;
  ValueId call(ValueStore& store, ValueId callable, ValueId args) override;
  ValueId new_object(ValueStore& store, ValueId cls, ValueId args) override;
  void build(ValueStore& store, ValueId object, ValueId state) override;
  ValueId persistent_load(ValueStore& store, ValueId pid, uint64_t position) override;

  const std::vector<StorageDecl>& storages() const { return storages_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // The tensor `id` stands for, if it is one.
  std::optional<size_t> tensor_of(const ValueStore& store, ValueId id) const;
  // The attribute dict of an inert object (argparse.Namespace), if `id` is one.
  std::optional<ValueId> attributes_of(const ValueStore& store, ValueId id) const;
  // The index in storages() of the storage named `key`, if a persistent id declared it.
  std::optional<size_t> storage_index(const std::string& key) const;

 private:
  enum class Role : uint8_t {
    kOrderedDict,
    kRebuildTensor,
    kRebuildTensorV2,
    kRebuildTensorV3,
    kRebuildParameter,
    kRebuildParameterWithState,
    kStorageType,
    kDType,
    kSize,
    kCodecsEncode,
    kNamespace,
  };
  struct Global {
    std::string name;  // "module.name"
    Role role;
    DType dtype = DType::kU8;  // kStorageType, kDType
  };
  // A storage value: all of a declared storage, or (legacy) a slice of one.
  struct StorageRef {
    size_t storage;
    uint64_t byte_offset;
    uint64_t nbytes;
    DType dtype;
  };
  struct Object {
    size_t cls;  // index into globals_
    std::optional<ValueId> attributes;
  };

  const Global* global_of(const ValueStore& store, ValueId id) const;
  ValueId rebuild_tensor(ValueStore& store, Role role, ValueId args);
  ValueId make_object(ValueStore& store, const Global& cls, ValueId args);

  Flavor flavor_;
  uint64_t file_size_;
  std::vector<Global> globals_;
  std::map<std::string, size_t> global_index_;
  std::vector<StorageDecl> storages_;
  std::map<std::string, size_t> storage_index_;
  std::vector<StorageRef> storage_refs_;
  std::vector<TensorView> tensors_;
  uint64_t total_dims_ = 0;  // over all tensors_: a memo'd argument tuple can be rebuilt cheaply
  std::vector<Object> objects_;
};

}  // namespace tensorferry
