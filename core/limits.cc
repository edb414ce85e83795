#include "core/limits.h"

#include "core/error.h"

namespace tensorferry {

void check_tensor_count(uint64_t count, const std::string& file, std::optional<uint64_t> offset) {
  if (count > kMaxTensorCount)
    throw_bad_input(file, offset,
                    "lists more than " + std::to_string(kMaxTensorCount) +
                        " tensors, more than tensorferry accepts (docs/hardening.md)");
}

void check_tensor_metadata(std::string_view name, const Shape& shape, const std::string& file,
                           std::optional<uint64_t> offset) {
  const std::string tensor(name.substr(0, 200));
  if (name.size() > kMaxTensorNameBytes)
    throw_bad_input(file, offset,
                    "tensor name of " + std::to_string(name.size()) + " bytes, more than the " +
                        std::to_string(kMaxTensorNameBytes) + " tensorferry accepts",
                    tensor + "...");
  for (uint64_t dim : shape)
    if (dim > static_cast<uint64_t>(INT64_MAX))
      throw_bad_input(file, offset,
                      "shape " + shape_to_string(shape) + " has a dimension above 2^63-1: no " +
                          "format stores it and no framework reads it (dimensions are int64)",
                      tensor);
}

}  // namespace tensorferry
