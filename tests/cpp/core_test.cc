#include <gtest/gtest.h>

#include <string>

#include "core/crc.h"
#include "core/bytes.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace tensorferry {
namespace {

TEST(Crc32c, KnownVector) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_unmask(crc32c_mask(0x12345678u)), 0x12345678u);
  EXPECT_EQ(crc32c_mask(0), 0xA282EAD8u);
  std::string long_text(1000, 'x');
  for (size_t i = 0; i < long_text.size(); ++i) long_text[i] = static_cast<char>(i * 7);
  const uint32_t whole = crc32c(as_bytes(long_text));
  const uint32_t split = crc32c_extend(crc32c(as_bytes(long_text.substr(0, 333))),
                                       as_bytes(std::string_view(long_text).substr(333)));
  EXPECT_EQ(whole, split);
}

TEST(Crc32, KnownVector) { EXPECT_EQ(crc32_extend(0, as_bytes("123456789")), 0xCBF43926u); }

TEST(DType, TablesAreConsistent) {
  for (const auto& info : all_dtypes()) {
    EXPECT_EQ(&dtype_info(info.dtype), &info);
    EXPECT_EQ(dtype_from_name(info.name), info.dtype);
    if (!info.safetensors.empty()) {
      EXPECT_EQ(dtype_from_safetensors(info.safetensors), info.dtype);
    }
    if (info.tf_datatype) {
      EXPECT_EQ(dtype_from_tf(info.tf_datatype), info.dtype);
    }
  }
  EXPECT_EQ(dtype_from_torch_storage("BFloat16Storage"), DType::kBF16);
  EXPECT_FALSE(dtype_from_safetensors("F33").has_value());
}

TEST(Tensor, SizesOverflowAreCaught) {
  EXPECT_EQ(num_elements({}), 1u);
  EXPECT_EQ(num_elements({2, 0, 3}), 0u);
  EXPECT_EQ(dense_byte_size(DType::kF32, {768, 2304}), 768u * 2304u * 4u);
  EXPECT_FALSE(num_elements({1ull << 40, 1ull << 40}).has_value());
  EXPECT_FALSE(dense_byte_size(DType::kF64, {1ull << 61}).has_value());
  EXPECT_EQ(shape_to_string({1, 2}), "[1, 2]");
}

}  // namespace
}  // namespace tensorferry
