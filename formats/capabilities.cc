#include "formats/capabilities.h"

#include <string>

#include "formats/gguf/gguf_types.h"
#include "formats/keras_h5/hdf5_dtype.h"
#include "formats/keras_h5/keras_h5_internal.h"
#include "formats/torch/pickle_value.h"
#include "formats/torch/pickle_writer.h"

namespace tensorferry {

bool format_can_store(Format format, DType dtype) {
  switch (format) {
    case Format::kSafetensors: return !dtype_info(dtype).safetensors.empty();
    case Format::kPyTorch: return torch_can_store(dtype);
    case Format::kTfBundle: return dtype_info(dtype).tf_datatype != 0;
    case Format::kKerasH5: return h5::can_write(dtype);
    case Format::kGguf: return ggml_type_from_dtype(dtype).has_value();
  }
  return false;
}

std::string tensor_name_problem(Format format, const std::string& name) {
  switch (format) {
    case Format::kSafetensors:
      return name == "__metadata__" ? "\"__metadata__\" is reserved for the header's metadata" : "";
    case Format::kPyTorch: return is_valid_utf8(name) ? "" : "not valid UTF-8";
    case Format::kTfBundle:
      if (name.empty()) return "empty (the key of the bundle header)";
      return name.find('\0') == std::string::npos ? "" : "contains a NUL byte";
    case Format::kKerasH5:
      if (name.find('/') == std::string::npos)
        return "Keras .h5 tensor names are \"<layer>/<weight name>\"; this one has no '/'";
      if (const std::string problem = keras_h5::path_problem(name); !problem.empty())
        return "cannot be an HDF5 path: " + problem;
      return "";
    case Format::kGguf:
      return name.size() <= kGgmlMaxNameBytes
                 ? ""
                 : "longer than ggml's " + std::to_string(kGgmlMaxNameBytes) + " bytes";
  }
  return "";
}

}  // namespace tensorferry
