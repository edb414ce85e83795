#include "verify/numeric.h"

#include <bit>
#include <cmath>
#include <cstring>

#include "core/bytes.h"
#include "core/error.h"

namespace tensorferry::verify {

float half_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0)
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Subnormal (or zero): mantissa * 2^-24, exact in float.
  const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  return sign ? -magnitude : magnitude;
}

float bfloat16_to_float(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

uint16_t float_to_half(float value) {
  const uint32_t f = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u);
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to beyond 65504: infinity
  if (abs < 0x38800000u) {
    // Result is subnormal in half: round abs * 2^24 to an integer, ties to even.
    const float scaled = std::ldexp(std::bit_cast<float>(abs), 24);
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  // Normal: drop 13 mantissa bits with round-to-nearest-even; a carry correctly bumps the exponent.
  const uint32_t rebased = abs - (112u << 23);
  const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return sign | static_cast<uint16_t>(rounded >> 13);
}

bool converts_to_double(DType dtype) {
  switch (dtype) {
    case DType::kC64:
    case DType::kC128:
    case DType::kF8E4M3FN:
    case DType::kF8E5M2:
    case DType::kString: return false;
    default: return true;
  }
}

namespace {

template <typename T>
void convert(const std::byte* p, size_t count, double* out) {
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<double>(load_le<T>(p + i * sizeof(T)));
}

}  // namespace

void to_double(DType dtype, std::span<const std::byte> bytes, uint64_t first, size_t count,
               double* out) {
  const std::byte* p = bytes.data() + first * dtype_size(dtype);
  switch (dtype) {
    case DType::kF64: return convert<double>(p, count, out);
    case DType::kF32: return convert<float>(p, count, out);
    case DType::kF16:
      for (size_t i = 0; i < count; ++i) out[i] = half_to_float(load_le<uint16_t>(p + 2 * i));
      return;
    case DType::kBF16:
      for (size_t i = 0; i < count; ++i) out[i] = bfloat16_to_float(load_le<uint16_t>(p + 2 * i));
      return;
    case DType::kI64: return convert<int64_t>(p, count, out);
    case DType::kI32: return convert<int32_t>(p, count, out);
    case DType::kI16: return convert<int16_t>(p, count, out);
    case DType::kI8: return convert<int8_t>(p, count, out);
    case DType::kU64: return convert<uint64_t>(p, count, out);
    case DType::kU32: return convert<uint32_t>(p, count, out);
    case DType::kU16: return convert<uint16_t>(p, count, out);
    case DType::kU8: return convert<uint8_t>(p, count, out);
    case DType::kBool:
      for (size_t i = 0; i < count; ++i) out[i] = p[i] != std::byte{0} ? 1.0 : 0.0;
      return;
    default:
      throw Error(ErrorKind::kUsage,
                  "cannot compare values of dtype " + std::string(dtype_name(dtype)));
  }
}

}  // namespace tensorferry::verify
