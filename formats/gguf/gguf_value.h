// A GGUF metadata value: a scalar, a string, or an array of either (arrays of arrays are not
// read: llama.cpp's writers never make them). Values keep their GGUF type so that a file read
// and written again says exactly what it said.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "formats/gguf/gguf_types.h"

namespace tensorferry {

struct GgufValue {
  GgufValueType type = GgufValueType::kU32;
  uint64_t integer = 0;  // integer types (signed ones as two's complement) and bool
  double real = 0;       // f32 (exact in a double) and f64
  std::string text;      // kString
  GgufValueType element_type = GgufValueType::kU8;  // kArray
  std::vector<GgufValue> elements;                  // kArray

  static GgufValue of_u32(uint32_t v);
  static GgufValue of_i32(int32_t v);
  static GgufValue of_u64(uint64_t v);
  static GgufValue of_f32(float v);
  static GgufValue of_bool(bool v);
  static GgufValue of_string(std::string v);
  static GgufValue of_array(GgufValueType element_type, std::vector<GgufValue> elements);

  int64_t as_signed() const;  // integer types, sign-extended from their width
  bool is_integer() const;
  // For inspect: scalars as text (floats in their shortest exact form), strings quoted and
  // escaped for a terminal (core/printable.h) up to `max_string_bytes`, arrays up to
  // `max_elements` entries and then their count.
  std::string to_text(size_t max_elements = 16, size_t max_string_bytes = SIZE_MAX) const;
  nlohmann::json to_json() const;
};

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;  // in file order

const GgufValue* find_value(const GgufMetadata& metadata, std::string_view key);

// Appends the GGUF encoding of a string (u64 length, bytes) and of a typed value.
void append_gguf_string(std::string& out, std::string_view text);
void append_gguf_value(std::string& out, const GgufValue& value);

}  // namespace tensorferry
