#include "verify/bound.h"

#include <cmath>

namespace tensorferry::verify {
namespace {

int significand_bits(DType dtype) {
  switch (dtype) {
    case DType::kF64: return 53;
    case DType::kF32: return 24;
    case DType::kF16: return 11;
    case DType::kBF16: return 8;
    case DType::kF8E4M3FN: return 4;
    case DType::kF8E5M2: return 3;
    default: return 0;
  }
}

}  // namespace

double unit_roundoff(DType dtype) {
  const int bits = significand_bits(dtype);
  return bits ? std::ldexp(1.0, -bits) : 0.0;
}

double cast_max_rel_error(DType from, DType to) {
  if (significand_bits(to) >= significand_bits(from)) return 0.0;
  return kCastErrorGrowth * unit_roundoff(to);
}

}  // namespace tensorferry::verify
