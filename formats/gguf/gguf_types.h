// The two type systems of GGUF: ggml tensor types (dense ones and block-quantized ones) and the
// value types of metadata entries. Numbers are those of ggml.h / gguf.h (GGML_TYPE_*,
// GGUF_TYPE_*); sizes are those of ggml's type traits (block size in elements, bytes per block).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/dtype.h"

namespace tensorferry {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

struct GgmlTypeInfo {
  uint32_t id;
  std::string_view name;       // ggml's name: "f32", "q8_0", "q4_K"
  uint32_t block_elements;     // elements per block (1 for dense types)
  uint32_t block_bytes;        // bytes per block
  std::optional<DType> dense;  // the dtype of a dense type; nullopt for block-quantized ones
};

// nullopt for ids this build does not know (the IQ* and TQ* types among them).
std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
std::optional<GgmlType> ggml_type_from_dtype(DType dtype);
std::optional<GgmlType> ggml_type_from_name(std::string_view name);
// Bytes of `elements` elements of `type` laid out in rows of `row_elements`; nullopt when the row
// is not a whole number of blocks or the size overflows.
std::optional<uint64_t> ggml_byte_size(GgmlType type, uint64_t row_elements, uint64_t elements);

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
inline constexpr uint32_t kGgufValueTypeCount = 13;
std::string_view gguf_value_type_name(GgufValueType type);  // "u32", "string", "array"
// Bytes of a scalar of this type; 0 for string and array.
uint32_t gguf_scalar_size(GgufValueType type);

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgmlMaxDims = 4;
inline constexpr size_t kGgmlMaxNameBytes = 63;  // GGML_MAX_NAME 64, with the terminating NUL

}  // namespace tensorferry
