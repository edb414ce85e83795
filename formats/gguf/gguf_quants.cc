#include "formats/gguf/gguf_quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "convert/cast.h"
#include "core/bytes.h"
#include "core/error.h"

namespace tensorferry {
namespace {

constexpr uint64_t kQk = 32;    // elements of a q8_0 / q4_0 block
constexpr uint64_t kQkK = 256;  // elements of a k-quant super-block

float load_f16(const std::byte* p) { return f16_to_f32(load_le<uint16_t>(p)); }

void dequantize_q8_0(const std::byte* src, float* dst, uint64_t blocks) {
  for (uint64_t b = 0; b < blocks; ++b, src += 2 + kQk, dst += kQk) {
    const float d = load_f16(src);
    for (uint64_t j = 0; j < kQk; ++j)
      dst[j] = static_cast<float>(static_cast<int8_t>(src[2 + j])) * d;
  }
}

void dequantize_q4_0(const std::byte* src, float* dst, uint64_t blocks) {
  for (uint64_t b = 0; b < blocks; ++b, src += 2 + kQk / 2, dst += kQk) {
    const float d = load_f16(src);
    for (uint64_t j = 0; j < kQk / 2; ++j) {
      const auto q = static_cast<uint8_t>(src[2 + j]);
      dst[j] = static_cast<float>((q & 0x0F) - 8) * d;
      dst[j + kQk / 2] = static_cast<float>((q >> 4) - 8) * d;
    }
  }
}

// The j-th six-bit scale and min of a q4_K block (get_scale_min_k4).
void scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void dequantize_q4_k(const std::byte* src, float* dst, uint64_t blocks) {
  constexpr uint64_t kBlockBytes = 144;
  for (uint64_t b = 0; b < blocks; ++b, src += kBlockBytes) {
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const auto* scales = reinterpret_cast<const uint8_t*>(src + 4);
    const auto* q = reinterpret_cast<const uint8_t*>(src + 16);
    int is = 0;
    for (uint64_t j = 0; j < kQkK; j += 64, q += 32, is += 2) {
      uint8_t sc, m;
      scale_min_k4(is, scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      scale_min_k4(is + 1, scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *dst++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *dst++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q6_k(const std::byte* src, float* dst, uint64_t blocks) {
  constexpr uint64_t kBlockBytes = 210;
  for (uint64_t b = 0; b < blocks; ++b, src += kBlockBytes) {
    const auto* ql = reinterpret_cast<const uint8_t*>(src);
    const auto* qh = reinterpret_cast<const uint8_t*>(src + 128);
    const auto* sc = reinterpret_cast<const int8_t*>(src + 192);
    const float d = load_f16(src + 208);
    for (uint64_t n = 0; n < kQkK; n += 128, dst += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        dst[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        dst[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        dst[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        dst[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace

void quantize_q8_0_reference(const float* src, std::byte* dst, uint64_t count) {
  if (count % kQk != 0) throw_usage("q8_0: element count is not a multiple of 32");
  for (uint64_t b = 0; b < count / kQk; ++b, src += kQk, dst += 2 + kQk) {
    float amax = 0.0f;
    // ggml's MAX(a, b) is a > b ? a : b, which lets a NaN through (std::max would drop it).
    for (uint64_t j = 0; j < kQk; ++j) {
      const float v = std::fabs(src[j]);
      amax = amax > v ? amax : v;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_le<uint16_t>(dst, f32_to_f16(d));
    for (uint64_t j = 0; j < kQk; ++j) {
      // |x * id| <= 127 for finite blocks. A NaN (a NaN or infinite weight in the block) or an
      // infinity (a subnormal scale, whose inverse overflows) is undefined to convert in C; x86
      // makes it INT_MIN, whose low byte ggml stores: 0.
      const float q = std::roundf(src[j] * id);
      dst[2 + j] = !std::isfinite(q)
                       ? std::byte{0}
                       : static_cast<std::byte>(static_cast<uint8_t>(static_cast<int8_t>(q)));
    }
  }
}

namespace {

#if defined(__x86_64__)
// One block of 32 finite floats whose scale has a finite inverse (false otherwise: the caller
// takes the reference path). The maximum of |x| does not depend on the order; roundf is
// trunc(x) plus ±1 when the (exact) fraction is at least one half.
__attribute__((target("avx2"))) bool quantize_block_q8_0_avx2(const float* src, std::byte* dst) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 infinity = _mm256_set1_ps(INFINITY);
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  int finite = 0xff;
  for (size_t k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(src + 8 * k);
    const __m256 a = _mm256_andnot_ps(sign, v[k]);
    finite &= _mm256_movemask_ps(_mm256_cmp_ps(a, infinity, _CMP_LT_OQ));
    amax = _mm256_max_ps(amax, a);
  }
  if (finite != 0xff) return false;
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float d = _mm_cvtss_f32(m) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  if (!std::isfinite(id)) return false;
  store_le<uint16_t>(dst, f32_to_f16(d));
  const __m256 scale = _mm256_set1_ps(id), half = _mm256_set1_ps(0.5f);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256i q[4];
  for (size_t k = 0; k < 4; ++k) {
    const __m256 x = _mm256_mul_ps(v[k], scale);
    const __m256 t = _mm256_round_ps(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 fraction = _mm256_andnot_ps(sign, _mm256_sub_ps(x, t));
    const __m256 away = _mm256_and_ps(_mm256_cmp_ps(fraction, half, _CMP_GE_OQ),
                                      _mm256_or_ps(one, _mm256_and_ps(sign, x)));
    q[k] = _mm256_cvtps_epi32(_mm256_add_ps(t, away));
  }
  // Packing works within 128-bit lanes: 4-byte groups come out as 0, 2, 4, 6, 1, 3, 5, 7.
  const __m256i bytes =
      _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 2),
                      _mm256_permutevar8x32_epi32(bytes, order));
  return true;
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

}  // namespace

void quantize_q8_0(const float* src, std::byte* dst, uint64_t count) {
  if (count % kQk != 0) throw_usage("q8_0: element count is not a multiple of 32");
#if defined(__x86_64__)
  if (cpu_has_avx2()) {
    for (uint64_t b = 0; b < count / kQk; ++b, src += kQk, dst += 2 + kQk)
      if (!quantize_block_q8_0_avx2(src, dst)) quantize_q8_0_reference(src, dst, kQk);
    return;
  }
#endif
  quantize_q8_0_reference(src, dst, count);
}

bool can_dequantize(GgmlType type) {
  return type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0 || type == GgmlType::kQ4_K ||
         type == GgmlType::kQ6_K;
}

void dequantize(GgmlType type, const std::byte* src, float* dst, uint64_t count) {
  const uint64_t block = ggml_type_info(type).block_elements;
  if (count % block != 0) throw_usage("dequantize: element count is not a whole number of blocks");
  switch (type) {
    case GgmlType::kQ8_0: return dequantize_q8_0(src, dst, count / block);
    case GgmlType::kQ4_0: return dequantize_q4_0(src, dst, count / block);
    case GgmlType::kQ4_K: return dequantize_q4_k(src, dst, count / block);
    case GgmlType::kQ6_K: return dequantize_q6_k(src, dst, count / block);
    default:
      throw_usage("dequantizing " + std::string(ggml_type_info(type).name) + " is not supported");
  }
}

}  // namespace tensorferry
