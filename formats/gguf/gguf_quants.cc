#include "formats/gguf/gguf_quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

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

void quantize_q8_0(const float* src, std::byte* dst, uint64_t count) {
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
      // |x * id| <= 127 for finite blocks. A NaN (a NaN or infinite weight in the block) is
      // undefined to convert in C; x86 makes it INT_MIN, whose low byte ggml stores: 0.
      const float q = std::roundf(src[j] * id);
      dst[2 + j] = std::isnan(q)
                       ? std::byte{0}
                       : static_cast<std::byte>(static_cast<uint8_t>(static_cast<int8_t>(q)));
    }
  }
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
