// Element types of every checkpoint format tensorferry carries, and each format's name for them.
//
// One table (dtype.cc) holds all names so that a format never invents its own spelling: the
// safetensors header string, the PyTorch storage class and dtype attribute, the TensorFlow
// DataType enum value, and the HDF5/NumPy type code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tensorferry {

enum class DType : uint8_t {
  kF64,
  kF32,
  kF16,
  kBF16,
  kI64,
  kI32,
  kI16,
  kI8,
  kU64,
  kU32,
  kU16,
  kU8,
  kBool,
  kC64,   // complex: two f32
  kC128,  // complex: two f64
  kF8E4M3FN,
  kF8E5M2,
  kString,  // TensorFlow DT_STRING: variable-length elements, never memcpy-able
};

struct DTypeInfo {
  DType dtype;
  std::string_view name;           // tensorferry's own name: "f32", "bf16", ...
  size_t size;                     // bytes per element; 0 for kString
  std::string_view safetensors;    // "F32"; empty when safetensors cannot store it
  std::string_view torch_storage;  // "FloatStorage"; empty when torch has no typed storage
  std::string_view torch_dtype;    // "float32" as in torch.float32; empty when torch lacks it
  int tf_datatype;                 // TensorFlow DataType enum value; 0 when TF lacks it
  std::string_view numpy;          // NumPy/HDF5 type string ("<f4"); empty when NumPy lacks it
};

// Every dtype, in enum order.
const std::vector<DTypeInfo>& all_dtypes();
const DTypeInfo& dtype_info(DType dtype);

inline std::string_view dtype_name(DType dtype) { return dtype_info(dtype).name; }
inline size_t dtype_size(DType dtype) { return dtype_info(dtype).size; }
inline bool is_floating(DType d) {
  return d == DType::kF64 || d == DType::kF32 || d == DType::kF16 || d == DType::kBF16 ||
         d == DType::kF8E4M3FN || d == DType::kF8E5M2;
}

std::optional<DType> dtype_from_name(std::string_view name);  // "f32", also "float32"
std::optional<DType> dtype_from_safetensors(std::string_view name);
std::optional<DType> dtype_from_torch_storage(std::string_view class_name);
std::optional<DType> dtype_from_torch_dtype(std::string_view attribute);
std::optional<DType> dtype_from_tf(int datatype);
std::optional<DType> dtype_from_numpy(std::string_view type_string);

}  // namespace tensorferry
