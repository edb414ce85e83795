// Deciding verify without the forward pass where the forward pass cannot tell the two sides
// apart: equal configs and bit-identical weights in canonical form (each side read through its
// own convention's table, as the forward pass reads it) make the two forward passes one and the
// same computation. Conversions that only rename, transpose and reshape land here; casts and
// real divergences do not, and the forward pass then runs to name the first diverging stage.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "verify/model.h"

namespace tensorferry::verify {

struct IdenticalWeights {
  uint64_t tensors = 0;  // parameters compared (per layer)
  uint64_t values = 0;   // elements compared
  uint64_t transposed =
      0;  // of the tensors, those stored [out, in] on one side, [in, out] on the other
  // A's tensors (by reader index) seen to be finite while they were compared: the look for NaN
  // and infinity before any forward pass (verify/finite.h) need not read them again.
  std::vector<bool> finite_a;
};

// nullopt as soon as anything differs or is not comparable bit for bit (another dtype, a shape
// that is not the same matrix, a parameter one side lacks, configs that differ in any number the
// forward pass reads): the forward pass decides then.
std::optional<IdenticalWeights> identical_weights(Model& a, Model& b);

}  // namespace tensorferry::verify
