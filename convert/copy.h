// Moving tensors from one container to another with their names unchanged: the step every
// conversion ends in, and `tensorferry convert` before model families are involved.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "formats/registry.h"

namespace tensorferry {

struct CopyOptions {
  Format output_format = Format::kSafetensors;
  WriterOptions writer;
  // When the output names a folder, the checkpoint goes inside it under the format's usual name.
  bool output_is_folder = false;
};

struct CopyReport {
  size_t tensors = 0;
  uint64_t bytes = 0;
  std::string written;  // the main output file or folder
};

// Streams every tensor of `reader` into a new checkpoint at `output`, one tensor in memory at a
// time at most. Nothing appears at `output` unless every tensor was written.
CopyReport copy_checkpoint(CheckpointReader& reader, const std::string& output,
                           const CopyOptions& options);

}  // namespace tensorferry
