// The checks a plan makes of its output before anything is written, so that a dry run refuses
// what the real run would: the output must not exist (unless --force), and the target container
// must be able to hold every tensor's dtype and name (formats/capabilities.h). Refusals name the
// final output, never a temporary, and say what would work instead.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/registry.h"

namespace tensorferry {

struct TargetAdvice {
  std::string dtype;  // appended when a dtype cannot be stored ("--dtype f16 would work")
  std::string name;   // appended when a name cannot be stored ("--to hf-tf2 ...")
};

// Throws Error(kUsage) naming `output` and the first tensor `format` cannot hold.
void check_target_holds(Format format, const std::vector<TensorInfo>& tensors,
                        const std::string& output, const TargetAdvice& advice);

// The dtypes among f32, f16, bf16 that `format` can store, as "--dtype f16 or --dtype f32".
std::string dtype_alternatives(Format format);

}  // namespace tensorferry
