#include "formats/gguf/gguf_types.h"

#include <array>

#include "core/bytes.h"
#include "core/error.h"

namespace tensorferry {
namespace {

constexpr uint32_t kQkK = 256;  // QK_K: elements per super-block of the k-quants

const std::array<GgmlTypeInfo, 32> kTypes = {{
    {0, "f32", 1, 4, DType::kF32},
    {1, "f16", 1, 2, DType::kF16},
    {2, "q4_0", 32, 2 + 16, std::nullopt},
    {3, "q4_1", 32, 2 + 2 + 16, std::nullopt},
    {6, "q5_0", 32, 2 + 4 + 16, std::nullopt},
    {7, "q5_1", 32, 2 + 2 + 4 + 16, std::nullopt},
    {8, "q8_0", 32, 2 + 32, std::nullopt},
    {9, "q8_1", 32, 4 + 4 + 32, std::nullopt},
    {10, "q2_K", kQkK, 2 + 2 + kQkK / 16 + kQkK / 4, std::nullopt},
    {11, "q3_K", kQkK, 2 + kQkK / 4 + kQkK / 8 + 12, std::nullopt},
    {12, "q4_K", kQkK, 2 + 2 + kQkK / 2 + 12, std::nullopt},
    {13, "q5_K", kQkK, 2 + 2 + kQkK / 2 + kQkK / 8 + 12, std::nullopt},
    {14, "q6_K", kQkK, 2 + kQkK / 2 + kQkK / 4 + kQkK / 16, std::nullopt},
    {15, "q8_K", kQkK, 4 + kQkK + kQkK / 8, std::nullopt},
    {16, "iq2_xxs", kQkK, 2 + kQkK / 4, std::nullopt},
    {17, "iq2_xs", kQkK, 2 + kQkK / 4 + kQkK / 32, std::nullopt},
    {18, "iq3_xxs", kQkK, 2 + kQkK / 4 + kQkK / 8, std::nullopt},
    {19, "iq1_s", kQkK, 2 + kQkK / 8 + kQkK / 16, std::nullopt},
    {20, "iq4_nl", 32, 2 + 16, std::nullopt},
    {21, "iq3_s", kQkK, 2 + kQkK / 4 + kQkK / 8 + kQkK / 32 + 4, std::nullopt},
    {22, "iq2_s", kQkK, 2 + kQkK / 4 + kQkK / 16, std::nullopt},
    {23, "iq4_xs", kQkK, 2 + 2 + kQkK / 2 + kQkK / 64, std::nullopt},
    {24, "i8", 1, 1, DType::kI8},
    {25, "i16", 1, 2, DType::kI16},
    {26, "i32", 1, 4, DType::kI32},
    {27, "i64", 1, 8, DType::kI64},
    {28, "f64", 1, 8, DType::kF64},
    {29, "iq1_m", kQkK, kQkK / 8 + kQkK / 16 + kQkK / 32, std::nullopt},
    {30, "bf16", 1, 2, DType::kBF16},
    {34, "tq1_0", kQkK, 2 + 4 * 13, std::nullopt},
    {35, "tq2_0", kQkK, 2 + 64, std::nullopt},
    {39, "mxfp4", 32, 1 + 16, std::nullopt},
}};

constexpr std::array<std::string_view, kGgufValueTypeCount> kValueTypeNames = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
constexpr std::array<uint32_t, kGgufValueTypeCount> kScalarSizes = {1, 1, 2, 2, 4, 4, 4,
                                                                    1, 0, 0, 8, 8, 8};

}  // namespace

std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id) {
  for (const auto& t : kTypes)
    if (t.id == id) return t;
  return std::nullopt;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
  for (const auto& t : kTypes)
    if (t.id == static_cast<uint32_t>(type)) return t;
  throw_usage("unknown ggml type " + std::to_string(static_cast<uint32_t>(type)));
}

std::optional<GgmlType> ggml_type_from_dtype(DType dtype) {
  for (const auto& t : kTypes)
    if (t.dense == dtype) return static_cast<GgmlType>(t.id);
  return std::nullopt;
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& t : kTypes)
    if (t.name == name) return static_cast<GgmlType>(t.id);
  return std::nullopt;
}

std::optional<uint64_t> ggml_byte_size(GgmlType type, uint64_t row_elements, uint64_t elements) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (row_elements % info.block_elements != 0 || elements % info.block_elements != 0)
    return std::nullopt;
  return checked_mul(elements / info.block_elements, info.block_bytes);
}

std::string_view gguf_value_type_name(GgufValueType type) {
  const auto i = static_cast<uint32_t>(type);
  return i < kGgufValueTypeCount ? kValueTypeNames[i] : "unknown";
}

uint32_t gguf_scalar_size(GgufValueType type) {
  const auto i = static_cast<uint32_t>(type);
  return i < kGgufValueTypeCount ? kScalarSizes[i] : 0;
}

}  // namespace tensorferry
