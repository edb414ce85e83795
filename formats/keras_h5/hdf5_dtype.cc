#include "formats/keras_h5/hdf5_dtype.h"

#include <cstring>

namespace tensorferry::h5 {
namespace {

// IEEE-style float layouts: bit positions of sign, exponent and mantissa, and the exponent bias.
struct FloatLayout {
  DType dtype;
  size_t size;
  size_t sign, exponent_pos, exponent_bits, mantissa_pos, mantissa_bits, bias;
};
constexpr FloatLayout kFloats[] = {
    {DType::kF16, 2, 15, 10, 5, 0, 10, 15},
    {DType::kBF16, 2, 15, 7, 8, 0, 7, 127},
    {DType::kF32, 4, 31, 23, 8, 0, 23, 127},
    {DType::kF64, 8, 63, 52, 11, 0, 52, 1023},
};

Handle float_type(const FloatLayout& f) {
  // Built the way h5py builds float16: start from IEEE single, move the fields, shrink, rebias.
  if (f.size == 8) return Handle(H5Tcopy(H5T_IEEE_F64LE));
  Handle t(H5Tcopy(H5T_IEEE_F32LE));
  if (f.size == 4) return t;
  H5Tset_fields(t.get(), f.sign, f.exponent_pos, f.exponent_bits, f.mantissa_pos, f.mantissa_bits);
  H5Tset_size(t.get(), f.size);
  H5Tset_ebias(t.get(), f.bias);
  return t;
}

const FloatLayout* float_layout(DType dtype) {
  for (const auto& f : kFloats)
    if (f.dtype == dtype) return &f;
  return nullptr;
}

bool byte_order_ok(hid_t type, size_t size) {
  const H5T_order_t order = H5Tget_order(type);
  return order == H5T_ORDER_LE || order == H5T_ORDER_BE || (size == 1 && order == H5T_ORDER_NONE);
}

std::optional<DType> float_dtype(hid_t type, std::string* why) {
  const size_t size = H5Tget_size(type);
  size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
  if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0 || !byte_order_ok(type, size)) {
    *why = "float datatype with unreadable fields or byte order";
    return std::nullopt;
  }
  const size_t bias = H5Tget_ebias(type);
  const bool plain = H5Tget_precision(type) == 8 * size && H5Tget_offset(type) == 0 &&
                     H5Tget_norm(type) == H5T_NORM_IMPLIED;
  for (const auto& f : kFloats) {
    if (plain && f.size == size && f.sign == spos && f.exponent_pos == epos &&
        f.exponent_bits == esize && f.mantissa_pos == mpos && f.mantissa_bits == msize &&
        f.bias == bias)
      return f.dtype;
  }
  *why = std::to_string(size) + "-byte float datatype with a layout that is not IEEE " +
         "float16/32/64 or bfloat16";
  return std::nullopt;
}

std::optional<DType> integer_dtype(hid_t type, std::string* why) {
  const size_t size = H5Tget_size(type);
  const H5T_sign_t sign = H5Tget_sign(type);
  if (H5Tget_precision(type) != 8 * size || H5Tget_offset(type) != 0 ||
      !byte_order_ok(type, size) || sign < 0) {
    *why = "integer datatype with padding bits or an unknown byte order";
    return std::nullopt;
  }
  const bool is_signed = sign == H5T_SGN_2;
  switch (size) {
    case 1: return is_signed ? DType::kI8 : DType::kU8;
    case 2: return is_signed ? DType::kI16 : DType::kU16;
    case 4: return is_signed ? DType::kI32 : DType::kU32;
    case 8: return is_signed ? DType::kI64 : DType::kU64;
  }
  *why = std::to_string(size) + "-byte integer datatype";
  return std::nullopt;
}

std::string member_name(hid_t type, unsigned index) {
  char* name = H5Tget_member_name(type, index);
  if (!name) return {};
  std::string out(name);
  H5free_memory(name);
  return out;
}

// h5py's bool: an enum over a 1-byte integer with exactly FALSE = 0 and TRUE = 1.
std::optional<DType> enum_dtype(hid_t type, std::string* why) {
  *why = "enum datatype other than h5py's bool {FALSE = 0, TRUE = 1}";
  Handle base(H5Tget_super(type));
  if (!base.valid() || H5Tget_class(base.get()) != H5T_INTEGER || H5Tget_size(base.get()) != 1 ||
      H5Tget_nmembers(type) != 2)
    return std::nullopt;
  for (unsigned i = 0; i < 2; ++i) {
    unsigned char value = 0xff;
    if (H5Tget_member_value(type, i, &value) < 0) return std::nullopt;
    const std::string name = member_name(type, i);
    if (!((name == "FALSE" && value == 0) || (name == "TRUE" && value == 1))) return std::nullopt;
  }
  return DType::kBool;
}

// h5py's complex: a compound {r, i} of two floats of the same size, r first, no padding.
std::optional<DType> compound_dtype(hid_t type, std::string* why) {
  *why = "compound datatype other than h5py's complex {r, i}";
  const size_t size = H5Tget_size(type);
  if ((size != 8 && size != 16) || H5Tget_nmembers(type) != 2) return std::nullopt;
  const char* names[2] = {"r", "i"};
  for (unsigned i = 0; i < 2; ++i) {
    if (member_name(type, i) != names[i] || H5Tget_member_offset(type, i) != i * size / 2)
      return std::nullopt;
    Handle member(H5Tget_member_type(type, i));
    std::string ignored;
    if (!member.valid() || H5Tget_class(member.get()) != H5T_FLOAT) return std::nullopt;
    const auto part = float_dtype(member.get(), &ignored);
    if (part != (size == 8 ? DType::kF32 : DType::kF64)) return std::nullopt;
  }
  return size == 8 ? DType::kC64 : DType::kC128;
}

}  // namespace

bool can_write(DType dtype) {
  switch (dtype) {
    case DType::kBF16:
    case DType::kF8E4M3FN:
    case DType::kF8E5M2:
    case DType::kString: return false;
    default: return true;
  }
}

Handle make_type(DType dtype) {
  if (const FloatLayout* f = float_layout(dtype)) return float_type(*f);
  switch (dtype) {
    case DType::kI8: return Handle(H5Tcopy(H5T_STD_I8LE));
    case DType::kI16: return Handle(H5Tcopy(H5T_STD_I16LE));
    case DType::kI32: return Handle(H5Tcopy(H5T_STD_I32LE));
    case DType::kI64: return Handle(H5Tcopy(H5T_STD_I64LE));
    case DType::kU8: return Handle(H5Tcopy(H5T_STD_U8LE));
    case DType::kU16: return Handle(H5Tcopy(H5T_STD_U16LE));
    case DType::kU32: return Handle(H5Tcopy(H5T_STD_U32LE));
    case DType::kU64: return Handle(H5Tcopy(H5T_STD_U64LE));
    case DType::kBool: {
      Handle t(H5Tenum_create(H5T_NATIVE_INT8));
      const signed char no = 0, yes = 1;
      H5Tenum_insert(t.get(), "FALSE", &no);
      H5Tenum_insert(t.get(), "TRUE", &yes);
      return t;
    }
    case DType::kC64:
    case DType::kC128: {
      const bool wide = dtype == DType::kC128;
      const size_t half = wide ? 8 : 4;
      Handle t(H5Tcreate(H5T_COMPOUND, 2 * half));
      const hid_t part = wide ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
      H5Tinsert(t.get(), "r", 0, part);
      H5Tinsert(t.get(), "i", half, part);
      return t;
    }
    default: return Handle();
  }
}

std::optional<DType> dtype_of(hid_t type, std::string* why) {
  switch (H5Tget_class(type)) {
    case H5T_FLOAT: return float_dtype(type, why);
    case H5T_INTEGER: return integer_dtype(type, why);
    case H5T_ENUM: return enum_dtype(type, why);
    case H5T_COMPOUND: return compound_dtype(type, why);
    case H5T_STRING: *why = "string datatype"; return std::nullopt;
    case H5T_OPAQUE:
      *why = "opaque datatype (h5py stores ml_dtypes such as bfloat16 this way, untagged)";
      return std::nullopt;
    case H5T_VLEN: *why = "variable-length datatype"; return std::nullopt;
    case H5T_ARRAY: *why = "array datatype"; return std::nullopt;
    case H5T_REFERENCE: *why = "reference datatype"; return std::nullopt;
    case H5T_BITFIELD: *why = "bitfield datatype"; return std::nullopt;
    case H5T_TIME: *why = "time datatype"; return std::nullopt;
    default: *why = "unreadable datatype"; return std::nullopt;
  }
}

bool is_native_layout(hid_t type, DType dtype) {
  Handle native = make_type(dtype);
  return native.valid() && H5Tequal(type, native.get()) > 0;
}

}  // namespace tensorferry::h5
