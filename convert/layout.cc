#include "convert/layout.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace tensorferry {

namespace {

// 64x64 tiles of 4-byte elements are 16 KiB per side: both fit in a 48 KiB L1 data cache.
constexpr uint64_t kTile = 64;

template <typename T>
void transpose_typed(const T* src, T* dst, uint64_t rows, uint64_t cols) {
  for (uint64_t r0 = 0; r0 < rows; r0 += kTile) {
    const uint64_t r1 = std::min(rows, r0 + kTile);
    for (uint64_t c0 = 0; c0 < cols; c0 += kTile) {
      const uint64_t c1 = std::min(cols, c0 + kTile);
      for (uint64_t r = r0; r < r1; ++r) {
        const T* row = src + r * cols;
        for (uint64_t c = c0; c < c1; ++c) dst[c * rows + r] = row[c];
      }
    }
  }
}

template <size_t N>
struct Blob {
  std::byte b[N];
};

}  // namespace

void transpose_2d(const std::byte* src, std::byte* dst, uint64_t rows, uint64_t cols,
                  size_t element_size) {
  switch (element_size) {
    case 1:
      transpose_typed(reinterpret_cast<const uint8_t*>(src), reinterpret_cast<uint8_t*>(dst), rows,
                      cols);
      return;
    case 2:
      transpose_typed(reinterpret_cast<const uint16_t*>(src), reinterpret_cast<uint16_t*>(dst),
                      rows, cols);
      return;
    case 4:
      transpose_typed(reinterpret_cast<const uint32_t*>(src), reinterpret_cast<uint32_t*>(dst),
                      rows, cols);
      return;
    case 8:
      transpose_typed(reinterpret_cast<const uint64_t*>(src), reinterpret_cast<uint64_t*>(dst),
                      rows, cols);
      return;
    case 16:
      transpose_typed(reinterpret_cast<const Blob<16>*>(src), reinterpret_cast<Blob<16>*>(dst),
                      rows, cols);
      return;
  }
  throw Error(ErrorKind::kUsage,
              "cannot transpose elements of " + std::to_string(element_size) + " bytes");
}

}  // namespace tensorferry
