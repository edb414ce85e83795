// Progress of a long operation, for a person watching a terminal. Library code reports what it
// is doing through this interface; whether (and how) anything is shown is the caller's choice
// (the CLI draws a bar on a terminal and nothing in pipes, with -q or with --json).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/tensor.h"

namespace tensorferry {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // A pass over `tensors` tensors holding `bytes` bytes in all begins ("writing").
  virtual void begin_tensors(std::string_view what, size_t tensors, uint64_t bytes) = 0;
  // One more tensor of the pass is done.
  virtual void tensor_done(uint64_t bytes) = 0;
  // A named step starts or finishes, e.g. "verify: B layer 3 attention ok".
  virtual void step(std::string_view what) = 0;
  // Nothing more is coming: whatever is on screen is removed.
  virtual void done() = 0;
};

// Starts a pass over `tensors` on `progress`, when there is one.
void begin_tensor_pass(ProgressSink* progress, std::string_view what,
                       std::span<const TensorInfo> tensors);

}  // namespace tensorferry
