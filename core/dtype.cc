#include "core/dtype.h"

#include <cassert>

namespace tensorferry {
namespace {

// Sources: safetensors `Dtype` enum; torch/storage.py `_dtype_to_storage_type_map`;
// tensorflow/core/framework/types.proto; numpy dtype.str. F8 in safetensors is "F8_E4M3" for
// torch.float8_e4m3fn.
const std::vector<DTypeInfo> kTable = {
    {DType::kF64, "f64", 8, "F64", "DoubleStorage", "float64", 2, "<f8"},
    {DType::kF32, "f32", 4, "F32", "FloatStorage", "float32", 1, "<f4"},
    {DType::kF16, "f16", 2, "F16", "HalfStorage", "float16", 19, "<f2"},
    {DType::kBF16, "bf16", 2, "BF16", "BFloat16Storage", "bfloat16", 14, ""},
    {DType::kI64, "i64", 8, "I64", "LongStorage", "int64", 9, "<i8"},
    {DType::kI32, "i32", 4, "I32", "IntStorage", "int32", 3, "<i4"},
    {DType::kI16, "i16", 2, "I16", "ShortStorage", "int16", 5, "<i2"},
    {DType::kI8, "i8", 1, "I8", "CharStorage", "int8", 6, "|i1"},
    {DType::kU64, "u64", 8, "U64", "", "uint64", 23, "<u8"},
    {DType::kU32, "u32", 4, "U32", "", "uint32", 22, "<u4"},
    {DType::kU16, "u16", 2, "U16", "", "uint16", 17, "<u2"},
    {DType::kU8, "u8", 1, "U8", "ByteStorage", "uint8", 4, "|u1"},
    {DType::kBool, "bool", 1, "BOOL", "BoolStorage", "bool", 10, "|b1"},
    {DType::kC64, "c64", 8, "C64", "ComplexFloatStorage", "complex64", 8, "<c8"},
    {DType::kC128, "c128", 16, "", "ComplexDoubleStorage", "complex128", 18, "<c16"},
    {DType::kF8E4M3FN, "f8_e4m3fn", 1, "F8_E4M3", "", "float8_e4m3fn", 25, ""},
    {DType::kF8E5M2, "f8_e5m2", 1, "F8_E5M2", "", "float8_e5m2", 24, ""},
    {DType::kString, "string", 0, "", "", "", 7, ""},
};

template <typename Key>
std::optional<DType> find(Key DTypeInfo::*field, std::string_view value) {
  if (value.empty()) return std::nullopt;
  for (const auto& info : kTable)
    if (info.*field == value) return info.dtype;
  return std::nullopt;
}

}  // namespace

const std::vector<DTypeInfo>& all_dtypes() { return kTable; }

const DTypeInfo& dtype_info(DType dtype) {
  const auto index = static_cast<size_t>(dtype);
  assert(index < kTable.size() && kTable[index].dtype == dtype);
  return kTable[index];
}

std::optional<DType> dtype_from_name(std::string_view name) {
  if (auto d = find(&DTypeInfo::name, name)) return d;
  if (name == "float" || name == "fp32") return DType::kF32;
  if (name == "half" || name == "fp16") return DType::kF16;
  if (name == "double") return DType::kF64;
  return find(&DTypeInfo::torch_dtype, name);
}
std::optional<DType> dtype_from_safetensors(std::string_view name) {
  return find(&DTypeInfo::safetensors, name);
}
std::optional<DType> dtype_from_torch_storage(std::string_view class_name) {
  return find(&DTypeInfo::torch_storage, class_name);
}
std::optional<DType> dtype_from_torch_dtype(std::string_view attribute) {
  return find(&DTypeInfo::torch_dtype, attribute);
}
std::optional<DType> dtype_from_tf(int datatype) {
  if (datatype == 0) return std::nullopt;
  for (const auto& info : kTable)
    if (info.tf_datatype == datatype) return info.dtype;
  return std::nullopt;
}
std::optional<DType> dtype_from_numpy(std::string_view type_string) {
  return find(&DTypeInfo::numpy, type_string);
}

}  // namespace tensorferry
