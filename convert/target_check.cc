#include "convert/target_check.h"

#include "core/error.h"
#include "formats/capabilities.h"

namespace tensorferry {

namespace {

std::string with_advice(std::string message, const std::string& advice) {
  return advice.empty() ? message : message + "; " + advice;
}

}  // namespace

std::string dtype_alternatives(Format format) {
  std::string out;
  for (DType d : {DType::kF16, DType::kF32, DType::kBF16})
    if (format_can_store(format, d))
      out += (out.empty() ? "--dtype " : " or --dtype ") + std::string(dtype_name(d));
  return out;
}

void check_target_holds(Format format, const std::vector<TensorInfo>& tensors,
                        const std::string& output, const TargetAdvice& advice) {
  for (const auto& t : tensors) {
    if (!format_can_store(format, t.dtype))
      throw Error(ErrorKind::kUsage,
                  with_advice(std::string(format_name(format)) + " has no " +
                                  std::string(dtype_name(t.dtype)) + " type",
                              advice.dtype),
                  output, t.name);
    if (const std::string problem = tensor_name_problem(format, t.name); !problem.empty())
      throw Error(
          ErrorKind::kUsage,
          with_advice(std::string(format_name(format)) + " cannot hold this name: " + problem,
                      advice.name),
          output, t.name);
  }
}

}  // namespace tensorferry
