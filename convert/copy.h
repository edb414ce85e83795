// Moving tensors from one container to another with their names unchanged: the step every
// conversion ends in, and `tensorferry convert` before model families are involved. Like a model
// conversion it is planned first (what is written, cast, shared or left out; what the target
// refuses), so that `--dry-run` shows and refuses exactly what the real run would.
#pragma once

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
  std::optional<DType> dtype;        // cast floating tensors (--dtype); nullopt = bit-exact
  // Write a tensor that is the very same view of another's storage (a tied lm_head) once, as
  // transformers' save_pretrained does, instead of storing its bytes again.
  bool dedupe_tied = false;
};

// A source tensor that shares storage with an earlier one, which no target container keeps.
struct SharedTensor {
  std::string name;
  std::string shares_with;  // the earlier tensor's name
  uint64_t bytes = 0;       // what storing it again costs (as written)
  bool tie = false;         // the same view: --dedupe-tied leaves it out
  bool left_out = false;    // left out by --dedupe-tied
};

struct CopyPlan {
  std::string output;      // as the user named it
  std::string checkpoint;  // the checkpoint written (inside `output` when it is a folder)
  Format format = Format::kSafetensors;
  std::vector<size_t> sources;      // reader index of each written tensor, in write order
  std::vector<TensorInfo> targets;  // what each is written as (the cast dtype, when asked)
  std::vector<SharedTensor> shared;
  // Source tensors left out, each with the reason ("_CHECKPOINTABLE_OBJECT_GRAPH: ...").
  std::vector<std::string> skipped;
  uint64_t bytes = 0;  // total written
};

// Whether the copy leaves `tensor` out: a TF2 object graph is bookkeeping of the TF bundle it
// came from (a string tensor naming the other keys), so only a TF bundle output keeps it, and
// there the writer rebuilds it. Returns the reason, or nullopt when the tensor is copied.
std::optional<std::string> copy_skips(const TensorEntry& tensor, Format output_format);

// Plans copying every tensor of `reader` to `output` (but those copy_skips() names). Throws what
// the real copy would refuse before writing: an output that cannot fit or expands the input too
// far (core/output_space.h), an existing output without --force, a dtype or name the target
// cannot hold.
CopyPlan plan_copy(const CheckpointReader& reader, const std::string& output,
                   const CopyOptions& options);

struct CopyReport {
  size_t tensors = 0;
  uint64_t bytes = 0;
  std::string written;  // the main output file or folder
};

// Streams the planned tensors into a new checkpoint, one tensor in memory at a time at most.
// Nothing appears at the output unless every tensor was written. Holds the output's lock
// (core/output_lock.h) throughout.
CopyReport copy_checkpoint(CheckpointReader& reader, const CopyPlan& plan,
                           const CopyOptions& options);

}  // namespace tensorferry
