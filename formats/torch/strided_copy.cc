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

namespace {

// out[r][c] = src[r * row_step + c * col_step] (steps in bytes), row-major out. Walks 32x32
// tiles so that both the strided reads and the writes stay in cache: a transposed matrix read
// column by column would otherwise miss the cache (and the TLB) on every element.
template <size_t kSize>
void copy_tiled(const std::byte* src, uint64_t rows, uint64_t cols, uint64_t row_step,
                uint64_t col_step, std::byte* out) {
  constexpr uint64_t kTile = 32;
  for (uint64_t r0 = 0; r0 < rows; r0 += kTile) {
    const uint64_t r1 = std::min(rows, r0 + kTile);
    for (uint64_t c0 = 0; c0 < cols; c0 += kTile) {
      const uint64_t c1 = std::min(cols, c0 + kTile);
      for (uint64_t r = r0; r < r1; ++r) {
        const std::byte* s = src + r * row_step + c0 * col_step;
        std::byte* o = out + (r * cols + c0) * kSize;
        for (uint64_t c = c0; c < c1; ++c, s += col_step, o += kSize) std::memcpy(o, s, kSize);
      }
    }
  }
}

void copy_tiled(const std::byte* src, size_t element_size, uint64_t rows, uint64_t cols,
                uint64_t row_step, uint64_t col_step, std::byte* out) {
  switch (element_size) {
    case 1: return copy_tiled<1>(src, rows, cols, row_step, col_step, out);
    case 2: return copy_tiled<2>(src, rows, cols, row_step, col_step, out);
    case 4: return copy_tiled<4>(src, rows, cols, row_step, col_step, out);
    case 8: return copy_tiled<8>(src, rows, cols, row_step, col_step, out);
    case 16: return copy_tiled<16>(src, rows, cols, row_step, col_step, out);
  }
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c, out += element_size)
      std::memcpy(out, src + r * row_step + c * col_step, element_size);
}

}  // namespace

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
  // The innermost block each step of the outer loop copies: a dense run, or (strided innermost
  // dimension) the last two dimensions as a tiled 2-D copy.
  const bool dense_run = steps.back() == 1;
  const size_t block_dims = dense_run || sizes.size() == 1 ? 1 : 2;
  const size_t outer = sizes.size() - block_dims;
  const uint64_t cols = sizes.back();
  const uint64_t rows = block_dims == 2 ? sizes[outer] : 1;
  const uint64_t row_step = block_dims == 2 ? steps[outer] * element_size : 0;
  const uint64_t col_step = steps.back() * element_size;
  const uint64_t block_bytes = rows * cols * element_size;
  std::vector<uint64_t> index(outer, 0);
  while (true) {
    uint64_t offset = 0;
    for (size_t d = 0; d < outer; ++d) offset += index[d] * steps[d];
    const std::byte* src = base + offset * element_size;
    if (dense_run)
      std::memcpy(out, src, block_bytes);
    else
      copy_tiled(src, element_size, rows, cols, row_step, col_step, out);
    out += block_bytes;
    size_t d = outer;
    while (true) {
      if (d == 0) return;
      --d;
      if (++index[d] < sizes[d]) break;
      index[d] = 0;
    }
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
