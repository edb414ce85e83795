// Floating-point casts between f64, f32, f16 and bf16, on request only (`--dtype`): a conversion
// is bit-exact by default. Narrowing rounds to nearest, ties to even, like torch's .to() and
// numpy's astype: overflow becomes infinity, NaN stays NaN (quiet), subnormals are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/dtype.h"

namespace tensorferry {

bool can_cast(DType from, DType to);  // both among f64, f32, f16, bf16

// The dtype `--dtype wanted` gives a tensor stored as `source`: floating tensors are cast,
// everything else (integers, bool, strings) keeps its dtype. Throws Error(kUsage) naming
// `tensor` for a floating dtype the casts do not cover (f8 formats).
DType cast_target(DType source, std::optional<DType> wanted, const std::string& tensor);

// Converts `count` elements of `from` at src into `to` at dst (sizes count * dtype_size).
void cast_elements(const std::byte* src, DType from, std::byte* dst, DType to, uint64_t count);

// Scalar conversions, exposed for tests.
float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);
float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);

}  // namespace tensorferry
