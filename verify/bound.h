// The error bound a verify stage must meet, and the part of it that a cast to a narrower dtype
// earns. docs/verify.md ("The bound") derives the formula and the growth factor.
#pragma once

#include "core/dtype.h"

namespace tensorferry::verify {

// The stage passes when max |A − B| ≤ max_error + max_rel_error · max |A| over the stage.
inline constexpr double kDefaultMaxError = 1e-5;

// How many unit roundoffs of the weights' dtype a stage of the reference pass may differ by,
// relative to the stage's largest value, when every weight was rounded once. Measured (docs/
// verify.md): correct casts of the real MiniLM and of GPT-2s stay at 0.2 to 5.4; two layers'
// query weights swapped in the same cast show as 52 or more at the first swapped layer.
inline constexpr double kCastErrorGrowth = 16;

// 2^-p for a float dtype with p significand bits: f64 2^-53, f32 2^-24, f16 2^-11, bf16 2^-8;
// 0 for dtypes that are not floating point.
double unit_roundoff(DType dtype);

// The max_rel_error earned by weights rounded from `from` to `to`: kCastErrorGrowth ·
// unit_roundoff(to) when `to` has fewer significand bits than `from`, otherwise 0 (no cast, a
// widening cast, or bf16 -> f16, whose only losses are values beyond f16's range, which become
// infinity and fail as non-finite, and below 2^-24, which stay within max_error).
double cast_max_rel_error(DType from, DType to);

}  // namespace tensorferry::verify
