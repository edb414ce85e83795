#include "core/tensor.h"

#include "core/bytes.h"

namespace tensorferry {

std::optional<uint64_t> num_elements(const Shape& shape) {
  uint64_t count = 1;
  for (uint64_t dim : shape) {
    auto next = checked_mul(count, dim);
    if (!next) return std::nullopt;
    count = *next;
  }
  return count;
}

std::optional<uint64_t> dense_byte_size(DType dtype, const Shape& shape) {
  if (dtype == DType::kString) return std::nullopt;
  auto count = num_elements(shape);
  if (!count) return std::nullopt;
  return checked_mul(*count, dtype_size(dtype));
}

std::string shape_to_string(const Shape& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::string_view role_name(TensorRole role) {
  switch (role) {
    case TensorRole::kWeight: return "weight";
    case TensorRole::kBuffer: return "buffer";
    case TensorRole::kOptimizerSlot: return "optimizer-slot";
    case TensorRole::kCounter: return "counter";
    case TensorRole::kObjectGraph: return "object-graph";
  }
  return "unknown";
}

}  // namespace tensorferry
