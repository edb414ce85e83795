// Moving bytes between layouts: the one real data transformation of a conversion (reshapes are
// free). The transpose walks the matrix in square tiles so that both the reads and the writes of
// a tile stay in cache; a naive loop strides through memory on one side and is several times
// slower on [768, 3072]-sized matrices.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tensorferry {

// dst[c][r] = src[r][c] for a row-major [rows, cols] matrix of elements of `element_size` bytes
// (1, 2, 4 or 8). src and dst must not overlap.
void transpose_2d(const std::byte* src, std::byte* dst, uint64_t rows, uint64_t cols,
                  size_t element_size);

}  // namespace tensorferry
