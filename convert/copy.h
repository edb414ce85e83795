// Moving tensors from one container to another with their names unchanged: the step every
// conversion ends in, and `tensorferry convert` before model families are involved.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/progress.h"
#include "formats/registry.h"

namespace tensorferry {

struct CopyOptions {
  Format output_format = Format::kSafetensors;
  WriterOptions writer;
  // When the output names a folder, the checkpoint goes inside it under the format's usual name.
  bool output_is_folder = false;
  ProgressSink* progress = nullptr;  // hears of every tensor written, when given
  // Write an output more than kMaxExpansion times the input's size (core/output_space.h).
  bool allow_expansion = false;
};

struct CopyReport {
  size_t tensors = 0;
  uint64_t bytes = 0;
  std::string written;  // the main output file or folder
  // Source tensors left out, each with the reason ("_CHECKPOINTABLE_OBJECT_GRAPH: ...").
  std::vector<std::string> skipped;
};

// Whether the copy leaves `tensor` out: a TF2 object graph is bookkeeping of the TF bundle it
// came from (a string tensor naming the other keys), so only a TF bundle output keeps it, and
// there the writer rebuilds it. Returns the reason, or nullopt when the tensor is copied.
std::optional<std::string> copy_skips(const TensorEntry& tensor, Format output_format);

// Streams every tensor of `reader` into a new checkpoint at `output`, one tensor in memory at a
// time at most; the tensors copy_skips() names are left out and listed. Nothing appears at `output`
// unless every tensor was written. Holds the output's lock (core/output_lock.h) throughout, and
// refuses before writing anything an output that cannot fit or expands the input too far
// (core/output_space.h).
CopyReport copy_checkpoint(CheckpointReader& reader, const std::string& output,
                           const CopyOptions& options);

}  // namespace tensorferry
