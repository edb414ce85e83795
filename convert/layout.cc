#include "convert/layout.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/error.h"

namespace tensorferry {

namespace {

// Tiles are walked in destination order (reads strided, writes sequential): strided writes of a
// power-of-two stride (4096 floats = 16 KiB in BERT-large) all land in one L1 set and each needs
// a read-for-ownership, which made a source-order 64x64 tile run at ~0.2 GB/s. 16x16 tiles keep
// the 16 source lines a tile column touches in L1.
constexpr uint64_t kTile = 16;

template <typename T>
void transpose_typed(const T* src, T* dst, uint64_t rows, uint64_t cols) {
  for (uint64_t c0 = 0; c0 < cols; c0 += kTile) {
    const uint64_t c1 = std::min(cols, c0 + kTile);
    for (uint64_t r0 = 0; r0 < rows; r0 += kTile) {
      const uint64_t r1 = std::min(rows, r0 + kTile);
      for (uint64_t c = c0; c < c1; ++c) {
        T* out = dst + c * rows;
        for (uint64_t r = r0; r < r1; ++r) out[r] = src[r * cols + c];
      }
    }
  }
}

#if defined(__x86_64__)
// 8x8 blocks of 4-byte elements in AVX2 registers (unpack pairs, shuffle quads, swap lanes),
// walked in destination order in 32x32 tiles: ~10x the scalar tile on the bench machine.
__attribute__((target("avx2"))) inline void transpose_8x8(const float* s, uint64_t s_stride,
                                                          float* d, uint64_t d_stride) {
  __m256 r[8], t[8], u[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s + i * s_stride);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(d + i * d_stride, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
    _mm256_storeu_ps(d + (i + 4) * d_stride, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
  }
}

__attribute__((target("avx2"))) void transpose_4byte_avx2(const float* src, float* dst,
                                                          uint64_t rows, uint64_t cols) {
  constexpr uint64_t kBlockTile = 32;
  const uint64_t rows8 = rows / 8 * 8, cols8 = cols / 8 * 8;
  for (uint64_t c0 = 0; c0 < cols8; c0 += kBlockTile) {
    const uint64_t c1 = std::min(cols8, c0 + kBlockTile);
    for (uint64_t r0 = 0; r0 < rows8; r0 += kBlockTile) {
      const uint64_t r1 = std::min(rows8, r0 + kBlockTile);
      for (uint64_t c = c0; c < c1; c += 8)
        for (uint64_t r = r0; r < r1; r += 8)
          transpose_8x8(src + r * cols + c, cols, dst + c * rows + r, rows);
    }
  }
  // The edges the 8x8 blocks leave: the last rows % 8 rows, and the last cols % 8 columns.
  for (uint64_t c = 0; c < cols; ++c)
    for (uint64_t r = (c < cols8 ? rows8 : 0); r < rows; ++r) dst[c * rows + r] = src[r * cols + c];
}

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2"); }
#endif

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
#if defined(__x86_64__)
      if (static const bool avx2 = cpu_has_avx2(); avx2) {
        transpose_4byte_avx2(reinterpret_cast<const float*>(src), reinterpret_cast<float*>(dst),
                             rows, cols);
        return;
      }
#endif
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
