#include "formats/torch/strided_copy.h"

#include <algorithm>
#include <cstring>

namespace tensorferry {

bool is_row_major_dense(const Shape& shape, const std::vector<uint64_t>& strides) {
  for (uint64_t size : shape)
    if (size == 0) return true;
  uint64_t expected = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];  // cannot overflow: the caller checked num_elements
  }
  return true;
}

void gather_strided(const std::byte* base, size_t element_size, const Shape& shape,
                    const std::vector<uint64_t>& strides, std::byte* out) {
  // Drop size-1 dimensions and merge neighbours that are contiguous with each other, so that
  // the innermost loop runs as long as possible.
  std::vector<uint64_t> sizes, steps;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return;
    if (shape[d] == 1) continue;
    if (!sizes.empty() && steps.back() == strides[d] * shape[d]) {
      sizes.back() *= shape[d];
      steps.back() = strides[d];
    } else {
      sizes.push_back(shape[d]);
      steps.push_back(strides[d]);
    }
  }
  if (sizes.empty()) {  // a scalar or all-ones shape: one element
    std::memcpy(out, base, element_size);
    return;
  }
  const size_t inner = sizes.size() - 1;
  const uint64_t run = sizes[inner];
  const uint64_t step_bytes = steps[inner] * element_size;
  const bool dense_run = steps[inner] == 1;
  std::vector<uint64_t> index(sizes.size(), 0);
  while (true) {
    uint64_t offset = 0;
    for (size_t d = 0; d < inner; ++d) offset += index[d] * steps[d];
    const std::byte* src = base + offset * element_size;
    if (dense_run) {
      std::memcpy(out, src, run * element_size);
      out += run * element_size;
    } else if (element_size == 4) {  // the common transposed-f32 case, without memcpy calls
      for (uint64_t i = 0; i < run; ++i, src += step_bytes, out += 4) std::memcpy(out, src, 4);
    } else {
      for (uint64_t i = 0; i < run; ++i, src += step_bytes, out += element_size)
        std::memcpy(out, src, element_size);
    }
    size_t d = inner;
    while (d > 0) {
      --d;
      if (++index[d] < sizes[d]) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (inner == 0) return;
  }
}

void swap_byte_order(std::span<std::byte> bytes, size_t unit) {
  if (unit <= 1) return;
  for (size_t i = 0; i + unit <= bytes.size(); i += unit)
    std::reverse(bytes.begin() + static_cast<ptrdiff_t>(i),
                 bytes.begin() + static_cast<ptrdiff_t>(i + unit));
}

void flip_sign_bits(std::span<std::byte> bytes, size_t unit, bool imaginary_only) {
  const size_t stride = imaginary_only ? 2 * unit : unit;
  const size_t first = imaginary_only ? unit : 0;
  for (size_t i = first; i + unit <= bytes.size(); i += stride)
    bytes[i + unit - 1] ^= std::byte{0x80};
}

size_t scalar_unit(DType dtype) {
  if (dtype == DType::kC64 || dtype == DType::kC128) return dtype_size(dtype) / 2;
  return dtype_size(dtype);
}

}  // namespace tensorferry
