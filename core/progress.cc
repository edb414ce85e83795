#include "core/progress.h"

namespace tensorferry {

void begin_tensor_pass(ProgressSink* progress, std::string_view what,
                       std::span<const TensorInfo> tensors) {
  if (!progress) return;
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.nbytes;
  progress->begin_tensors(what, tensors.size(), total);
}

}  // namespace tensorferry
