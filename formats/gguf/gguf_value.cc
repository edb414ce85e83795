#include "formats/gguf/gguf_value.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <sstream>

#include "core/bytes.h"
#include "core/error.h"
#include "core/printable.h"

namespace tensorferry {
namespace {

template <typename T>
void append_le(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

// The shortest text that reads back as the same value of the same width ("0.1" for the f32
// nearest 0.1, not its double expansion), positional unless the exponent is below -4 or 16 and
// up, as Python's repr writes floats.
template <typename T>
std::string shortest_text(T value) {
  const T magnitude = value < 0 ? -value : value;
  const bool scientific = magnitude != 0 && (magnitude < T(1e-4) || magnitude >= T(1e16));
  char text[400];  // the longest positional f64 below 1e16 is far shorter
  const auto result =
      std::to_chars(text, text + sizeof(text), value,
                    scientific ? std::chars_format::scientific : std::chars_format::fixed);
  return std::string(text, result.ptr);
}

bool is_signed_type(GgufValueType t) {
  return t == GgufValueType::kI8 || t == GgufValueType::kI16 || t == GgufValueType::kI32 ||
         t == GgufValueType::kI64;
}

}  // namespace

GgufValue GgufValue::of_u32(uint32_t v) {
  GgufValue x;
  x.type = GgufValueType::kU32;
  x.integer = v;
  return x;
}

GgufValue GgufValue::of_i32(int32_t v) {
  GgufValue x;
  x.type = GgufValueType::kI32;
  x.integer = static_cast<uint64_t>(static_cast<int64_t>(v));
  return x;
}

GgufValue GgufValue::of_u64(uint64_t v) {
  GgufValue x;
  x.type = GgufValueType::kU64;
  x.integer = v;
  return x;
}

GgufValue GgufValue::of_f32(float v) {
  GgufValue x;
  x.type = GgufValueType::kF32;
  x.real = v;
  return x;
}

GgufValue GgufValue::of_bool(bool v) {
  GgufValue x;
  x.type = GgufValueType::kBool;
  x.integer = v ? 1 : 0;
  return x;
}

GgufValue GgufValue::of_string(std::string v) {
  GgufValue x;
  x.type = GgufValueType::kString;
  x.text = std::move(v);
  return x;
}

GgufValue GgufValue::of_array(GgufValueType element_type, std::vector<GgufValue> elements) {
  GgufValue x;
  x.type = GgufValueType::kArray;
  x.element_type = element_type;
  x.elements = std::move(elements);
  return x;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kU16:
    case GgufValueType::kI16:
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kU64:
    case GgufValueType::kI64: return true;
    default: return false;
  }
}

int64_t GgufValue::as_signed() const {
  if (!is_signed_type(type)) return static_cast<int64_t>(integer);
  const unsigned bits = gguf_scalar_size(type) * 8;
  if (bits == 64) return static_cast<int64_t>(integer);
  const uint64_t sign = uint64_t{1} << (bits - 1);
  return static_cast<int64_t>((integer ^ sign) - sign);
}

std::string GgufValue::to_text(size_t max_elements, size_t max_string_bytes) const {
  std::ostringstream out;
  switch (type) {
    case GgufValueType::kString: return quoted_printable(text, max_string_bytes);
    case GgufValueType::kBool: return integer ? "true" : "false";
    case GgufValueType::kF32: return shortest_text(static_cast<float>(real));
    case GgufValueType::kF64: return shortest_text(real);
    case GgufValueType::kArray: {
      // Array entries are tokens and merges: a few dozen bytes each is all a listing needs.
      const size_t element_bytes = std::min<size_t>(max_string_bytes, 48);
      out << "[";
      for (size_t i = 0; i < elements.size() && i < max_elements; ++i)
        out << (i ? ", " : "") << elements[i].to_text(max_elements, element_bytes);
      if (elements.size() > max_elements)
        out << ", ... (" << elements.size() << " " << gguf_value_type_name(element_type) << "s)";
      out << "]";
      return out.str();
    }
    default:
      if (is_signed_type(type)) return std::to_string(as_signed());
      return std::to_string(integer);
  }
}

nlohmann::json GgufValue::to_json() const {
  switch (type) {
    case GgufValueType::kString:
      // Token texts need not be UTF-8; the replacement keeps the JSON valid.
      return nlohmann::json::parse(
          nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    case GgufValueType::kBool: return integer != 0;
    case GgufValueType::kF32:
    case GgufValueType::kF64: return real;
    case GgufValueType::kArray: {
      auto list = nlohmann::json::array();
      for (const auto& e : elements) list.push_back(e.to_json());
      return list;
    }
    default:
      if (is_signed_type(type)) return as_signed();
      return integer;
  }
}

const GgufValue* find_value(const GgufMetadata& metadata, std::string_view key) {
  for (const auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

void append_gguf_string(std::string& out, std::string_view text) {
  append_le<uint64_t>(out, text.size());
  out.append(text);
}

namespace {

void append_payload(std::string& out, const GgufValue& value) {
  switch (value.type) {
    case GgufValueType::kString: append_gguf_string(out, value.text); return;
    case GgufValueType::kF32: append_le<float>(out, static_cast<float>(value.real)); return;
    case GgufValueType::kF64: append_le<double>(out, value.real); return;
    case GgufValueType::kArray:
      if (value.element_type == GgufValueType::kArray)
        throw_usage("GGUF writer: arrays of arrays are not supported");
      append_le<uint32_t>(out, static_cast<uint32_t>(value.element_type));
      append_le<uint64_t>(out, value.elements.size());
      for (const auto& e : value.elements) {
        if (e.type != value.element_type)
          throw_usage("GGUF writer: an array element is not of the array's type");
        append_payload(out, e);
      }
      return;
    default: {
      const uint32_t size = gguf_scalar_size(value.type);
      if (size == 0) throw_usage("GGUF writer: unknown value type");
      const uint64_t v = value.integer;
      out.append(reinterpret_cast<const char*>(&v), size);  // little-endian host: low bytes first
    }
  }
}

}  // namespace

void append_gguf_value(std::string& out, const GgufValue& value) {
  append_le<uint32_t>(out, static_cast<uint32_t>(value.type));
  append_payload(out, value);
}

}  // namespace tensorferry
