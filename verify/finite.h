// Finding NaN and infinity: in stored weights before a forward pass, and in the values of a stage.
// A forward pass from weights that are not all finite says nothing about a conversion (every
// later value is NaN on both sides, which would compare as "equal"), so verify looks for them
// before it computes anything.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/checkpoint.h"

namespace tensorferry::verify {

struct NonFiniteTensor {
  std::string name;
  uint64_t nan = 0, inf = 0;  // in this tensor
  Shape first_index;          // the first non-finite element, per dimension
};

// The first floating-point weight tensor (in the reader's order) holding a NaN or an infinity,
// read in pieces whose pages are released as they go; nullopt when every weight is finite.
// Tensors of other roles (optimizer slots, counters, buffers) are not looked at.
// Tensors marked in `known_finite` (by reader index; shorter means unmarked) are skipped: a
// comparison that had their bytes in cache already looked (identical_weights).
std::optional<NonFiniteTensor> find_non_finite_weight(CheckpointReader& reader,
                                                      const std::vector<bool>& known_finite = {});

// Whether `piece`, whole elements of `dtype`, may hold a NaN or an infinity: false means it holds
// none (one branch-free pass); true means find_non_finite_weight must look.
bool may_hold_non_finite(DType dtype, std::span<const std::byte> piece);

// "holds 3 NaN and 1 inf, the first at [0, 7]"
std::string describe_non_finite(const NonFiniteTensor& t);

}  // namespace tensorferry::verify
