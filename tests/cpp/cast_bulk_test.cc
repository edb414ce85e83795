// The bulk cast paths (F16C) give exactly what the scalar conversions give: every bf16 value to
// f16 and f32, and f32 values across every exponent, in buffers whose length is not a multiple
// of the vector width (the tail goes through the scalar code).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "convert/cast.h"

namespace tensorferry {
namespace {

template <typename T>
std::vector<T> cast_all(const std::vector<std::byte>& src, DType from, DType to) {
  const uint64_t count = src.size() / dtype_size(from);
  std::vector<T> out(count);
  cast_elements(src.data(), from, reinterpret_cast<std::byte*>(out.data()), to, count);
  return out;
}

template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& v) {
  std::vector<std::byte> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST(CastBulk, EveryBFloat16ToHalfAndFloat) {
  std::vector<uint16_t> all;
  for (uint32_t h = 0; h < 0x10000; ++h) all.push_back(static_cast<uint16_t>(h));
  all.push_back(0x3f80);  // 65537 elements: a tail of 1
  const auto src = bytes_of(all);
  const auto half = cast_all<uint16_t>(src, DType::kBF16, DType::kF16);
  const auto single = cast_all<uint32_t>(src, DType::kBF16, DType::kF32);
  for (size_t i = 0; i < all.size(); ++i) {
    const float f = bf16_to_f32(all[i]);
    ASSERT_EQ(half[i], f32_to_f16(f)) << std::hex << all[i];
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    ASSERT_EQ(single[i], bits) << std::hex << all[i];
  }
}

TEST(CastBulk, FloatToHalfAcrossEveryExponent) {
  std::vector<uint32_t> bits;
  for (uint64_t b = 0; b < (1ULL << 32); b += 4099) bits.push_back(static_cast<uint32_t>(b));
  for (uint32_t special : {0x7f800000U, 0xff800000U, 0x7f800001U, 0x7fc00000U, 0x477ff000U,
                           0x477fefffU, 0x33000000U, 0x33000001U, 0x38800000U, 0x387fffffU})
    bits.push_back(special);
  const auto half = cast_all<uint16_t>(bytes_of(bits), DType::kF32, DType::kF16);
  for (size_t i = 0; i < bits.size(); ++i) {
    float f;
    std::memcpy(&f, &bits[i], 4);
    ASSERT_EQ(half[i], f32_to_f16(f)) << std::hex << bits[i];
  }
}

}  // namespace
}  // namespace tensorferry
