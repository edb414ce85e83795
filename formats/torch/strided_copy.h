// Turning a strided view (torch's size/stride/storage_offset) into the dense row-major bytes every
// reader hands out, plus the element-wise fix-ups torch applies lazily (byte order, conj and neg
// bits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace tensorferry {

// True when the view's elements are already dense in row-major order (dimensions of size 1 may
// have any stride; a view without elements is trivially dense).
bool is_row_major_dense(const Shape& shape, const std::vector<uint64_t>& strides);

// Copies the elements of the view whose element 0 is at `base` into `out` (num_elements(shape) *
// element_size bytes), row-major. The caller has checked that every element lies in readable
// memory.
void gather_strided(const std::byte* base, size_t element_size, const Shape& shape,
                    const std::vector<uint64_t>& strides, std::byte* out);

// Reverses the bytes of each `unit`-byte word (for complex dtypes the unit is half an element).
void swap_byte_order(std::span<std::byte> bytes, size_t unit);

// Flips the sign bit of every `unit`-byte little-endian float, all of them (neg) or only the odd
// ones (the imaginary parts of complex numbers: conj).
void flip_sign_bits(std::span<std::byte> bytes, size_t unit, bool imaginary_only);

// The unit byte-order swaps and sign flips work in: half the element for complex dtypes.
size_t scalar_unit(DType dtype);

}  // namespace tensorferry
