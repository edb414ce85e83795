#include "convert/cast.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "core/error.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace tensorferry {

float bf16_to_f32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

uint16_t f32_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  // Round to nearest even: add 0x7fff plus the lowest kept bit, then truncate. A carry into the
  // exponent is the correct rounding (up to the next binade, or to infinity).
  const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf / NaN (payload kept)
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: value = mantissa * 2^-24, exact in f32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    bits = sign | std::bit_cast<uint32_t>(magnitude);
  }
  return std::bit_cast<float>(bits);
}

uint16_t f32_to_f16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00u | static_cast<uint16_t>((abs >> 13) & 0x1ffu);
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to infinity
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero): the value in units of 2^-24, rounded to nearest even.
    if (abs < 0x33000000u) return sign;  // below half of the smallest subnormal
    const uint32_t exponent = abs >> 23;
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;  // 14..24 for the range above
    uint32_t result = mantissa >> shift;
    const uint32_t remainder = mantissa & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (remainder > half || (remainder == half && (result & 1u))) ++result;
    return sign | static_cast<uint16_t>(result);
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
  uint32_t result = ((abs >> 13) - (112u << 10));
  const uint32_t dropped = abs & 0x1fffu;
  if (dropped > 0x1000u || (dropped == 0x1000u && (result & 1u))) ++result;
  return sign | static_cast<uint16_t>(result);
}

bool can_cast(DType from, DType to) {
  auto ok = [](DType d) {
    return d == DType::kF64 || d == DType::kF32 || d == DType::kF16 || d == DType::kBF16;
  };
  return ok(from) && ok(to);
}

DType cast_target(DType source, std::optional<DType> wanted, const std::string& tensor) {
  if (!wanted || !is_floating(source) || source == *wanted) return source;
  if (!can_cast(source, *wanted))
    throw Error(ErrorKind::kUsage,
                "cannot cast " + std::string(dtype_name(source)) + " to " +
                    std::string(dtype_name(*wanted)),
                "", tensor);
  return *wanted;
}

namespace {

// The general path reads every element as a double (exact for all four types). Narrowing to
// f32 uses the hardware conversion (round to nearest even); to f16/bf16 it goes through f32,
// which is exact for f16 <-> bf16 and can double-round only f64 inputs that lie within 2^-29
// relative of a half-way point (documented in docs/conversions.md).
double load(const std::byte* p, DType d) {
  switch (d) {
    case DType::kF64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case DType::kF32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::kF16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return f16_to_f32(v);
    }
    default: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return bf16_to_f32(v);
    }
  }
}

// Bulk paths for the casts that llama-sized conversions spend their time in (bf16 -> f16 for
// `--to gguf --dtype f16`, bf16 -> f32 before q8_0 quantization, f32 -> f16): the same results
// as the scalar functions above (checked for every bf16 value and a sweep of f32 ones in
// tests/cpp/cast_bulk_test.cc), with F16C's conversion, which rounds to nearest even and quiets
// NaNs as f32_to_f16 does.
#if defined(__x86_64__)
// F16C is CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports does not know "f16c"); its
// instructions use the AVX registers, whose OS support the avx2 check includes.
bool cpu_has_f16c() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __builtin_cpu_supports("avx2") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 &&
           (ecx & bit_F16C) != 0;
  }();
  return has;
}

__attribute__((target("avx2"))) __m256 load_bf16x8(const std::byte* src) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

// Returns the number of elements converted (whole groups of 8); the caller does the rest.
__attribute__((target("avx2,f16c"))) uint64_t cast_bulk_x86(const std::byte* src, DType from,
                                                            std::byte* dst, DType to,
                                                            uint64_t count) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const uint64_t whole = count / 8 * 8;
  for (uint64_t i = 0; i < whole; i += 8) {
    const __m256 v = from == DType::kBF16
                         ? load_bf16x8(src + i * 2)
                         : _mm256_loadu_ps(reinterpret_cast<const float*>(src + i * 4));
    if (to == DType::kF32)
      _mm256_storeu_ps(reinterpret_cast<float*>(dst + i * 4), v);
    else
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * 2), _mm256_cvtps_ph(v, kRound));
  }
  return whole;
}
#endif

// How many leading elements a bulk path converted (0 when none applies).
uint64_t cast_bulk(const std::byte* src, DType from, std::byte* dst, DType to, uint64_t count) {
#if defined(__x86_64__)
  const bool bulk = (from == DType::kBF16 && (to == DType::kF16 || to == DType::kF32)) ||
                    (from == DType::kF32 && to == DType::kF16);
  if (bulk && cpu_has_f16c()) return cast_bulk_x86(src, from, dst, to, count);
#endif
  return 0;
}

}  // namespace

void cast_elements(const std::byte* src, DType from, std::byte* dst, DType to, uint64_t count) {
  if (!can_cast(from, to))
    throw Error(ErrorKind::kUsage, "cannot cast " + std::string(dtype_name(from)) + " to " +
                                       std::string(dtype_name(to)));
  const size_t in = dtype_size(from), out = dtype_size(to);
  if (from == to) {
    std::memcpy(dst, src, count * in);
    return;
  }
  const uint64_t done = cast_bulk(src, from, dst, to, count);
  src += done * in;
  dst += done * out;
  count -= done;
  if (from == DType::kF32 && (to == DType::kF16 || to == DType::kBF16)) {
    for (uint64_t i = 0; i < count; ++i) {
      float v;
      std::memcpy(&v, src + i * 4, 4);
      const uint16_t h = to == DType::kF16 ? f32_to_f16(v) : f32_to_bf16(v);
      std::memcpy(dst + i * 2, &h, 2);
    }
    return;
  }
  for (uint64_t i = 0; i < count; ++i) {
    const double v = load(src + i * in, from);
    std::byte* p = dst + i * out;
    switch (to) {
      case DType::kF64: std::memcpy(p, &v, 8); break;
      case DType::kF32: {
        const float f = static_cast<float>(v);
        std::memcpy(p, &f, 4);
        break;
      }
      case DType::kF16:
      case DType::kBF16: {
        // From f16/bf16 (exact in f32) or f64 (rounded once to f32 first: see above).
        const float f = static_cast<float>(v);
        const uint16_t h = to == DType::kF16 ? f32_to_f16(f) : f32_to_bf16(f);
        std::memcpy(p, &h, 2);
        break;
      }
      default: break;
    }
  }
}

}  // namespace tensorferry
