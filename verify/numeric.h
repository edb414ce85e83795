// Reading stored elements as doubles. The reference forward pass and `diff` both evaluate every
// stored dtype in double precision, so that rounding inside tensorferry never shows up as (or
// hides) a difference between two checkpoints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/dtype.h"

namespace tensorferry::verify {

// IEEE 754 binary16 and bfloat16 bit patterns to float (exact: both are subsets of binary32).
float half_to_float(uint16_t bits);
float bfloat16_to_float(uint16_t bits);
// Round-to-nearest-even float -> binary16 bits (used by the unit tests to make f16 round trips).
uint16_t float_to_half(float value);

// True for the dtypes whose elements convert to double: every float, integer and bool type.
bool converts_to_double(DType dtype);

// Converts `count` elements starting at element `first` of `bytes` (dense, little-endian, of
// `dtype`) into `out`. The caller has checked that the range lies inside `bytes`.
void to_double(DType dtype, std::span<const std::byte> bytes, uint64_t first, size_t count,
               double* out);

}  // namespace tensorferry::verify
