// Element types in HDF5 as h5py (and therefore Keras) writes them, and back.
//
// h5py maps NumPy dtypes to HDF5 datatypes: IEEE floats (float16 is a 2-byte float with
// sign/exponent/mantissa at bits 15/10-14/0-9 and bias 15, HDF5 1.10 having no predefined
// half type), two's-complement integers, `bool` as an enum over int8 {FALSE = 0, TRUE = 1}, and
// complex numbers as a compound {r, i} of two floats. Anything else (opaque types, which is how
// h5py stores ml_dtypes.bfloat16 with an empty tag, strings, references, variable-length data) is
// not a Keras weight and is refused.
#pragma once

#include <optional>
#include <string>

#include "core/dtype.h"
#include "formats/keras_h5/hdf5_handle.h"

namespace tensorferry::h5 {

// Whether tensorferry writes `dtype` to HDF5. bfloat16 and float8 are refused: h5py reads a
// 2-byte float as float16, so a bfloat16 bit layout would not survive Keras loading it.
bool can_write(DType dtype);

// The little-endian HDF5 datatype of `dtype`, as h5py writes it (see can_write). For kBF16 it is
// an IEEE-style 2-byte float with 8 exponent bits, used only to read files that carry one.
Handle make_type(DType dtype);

// The dtype of a stored datatype, or nullopt with a reason in `why`. Byte order is not part of
// the answer: read with make_type(dtype) as the memory type and HDF5 swaps bytes when needed.
std::optional<DType> dtype_of(hid_t type, std::string* why);

// True when the stored datatype is byte for byte what make_type(dtype) describes, so that the
// stored bytes can be handed out without conversion.
bool is_native_layout(hid_t type, DType dtype);

}  // namespace tensorferry::h5
