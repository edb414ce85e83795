// What a checkpoint says about one tensor, before any of its bytes are read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace tensorferry {

using Shape = std::vector<uint64_t>;

// Element count of `shape`; nullopt on overflow. The empty shape is a scalar with one element.
std::optional<uint64_t> num_elements(const Shape& shape);
// Byte size of a dense tensor; nullopt on overflow or for string tensors.
std::optional<uint64_t> dense_byte_size(DType dtype, const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[768, 2304]", "[]" for scalars

// What a tensor is for. Converters skip everything but weights and say so in their report.
enum class TensorRole : uint8_t {
  kWeight,         // a model parameter
  kBuffer,         // a stored non-parameter (attention mask, position_ids)
  kOptimizerSlot,  // Adam m/v and the like
  kCounter,        // global_step, save_counter, optimizer iterations
  kObjectGraph,    // TF2 _CHECKPOINTABLE_OBJECT_GRAPH
};
std::string_view role_name(TensorRole role);

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  // Bytes of the tensor as read() returns it: dense row-major for numeric types; for kString the
  // tensorferry string encoding (per element: u64 little-endian length, then the bytes).
  uint64_t nbytes = 0;
};

// A tensor as stored in a checkpoint: what it is plus where its bytes are.
struct TensorEntry : TensorInfo {
  std::string file;     // the file holding the bytes (a shard, for sharded checkpoints)
  uint64_t offset = 0;  // of the first byte in `file`
  TensorRole role = TensorRole::kWeight;
  std::string note;  // anything a reader wants a person to see ("shares storage with x")
  // Formats whose tensors are views of shared buffers (torch storages) say which earlier tensor
  // uses the same buffer first, and whether this one is the very same view of it (same offset,
  // dtype, shape and strides: a tied weight), which a copy may write once.
  std::optional<size_t> shares_storage_with;
  bool same_view = false;
};

}  // namespace tensorferry
