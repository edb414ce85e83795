// LEB128 varints and fixed-width little-endian integers as LevelDB tables and TensorFlow bundles
// store them (the same varint encoding protobuf uses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/bytes.h"

namespace tensorferry::tf_bundle {

// Appends `value` in 1..10 bytes: 7 bits per byte, low bits first, bit 7 set on all but the last.
inline void put_varint64(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline void put_fixed32(std::string& out, uint32_t value) {
  char bytes[4];
  store_le(reinterpret_cast<std::byte*>(bytes), value);
  out.append(bytes, 4);
}

inline size_t varint_length(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

// Reads a varint of at most `max_bits` bits from the front of `in`, advancing it. Returns nullopt
// when `in` ends inside the varint, the encoding is longer than such a value can need, or its
// value does not fit in `max_bits` bits.
inline std::optional<uint64_t> get_varint(std::span<const std::byte>& in, unsigned max_bits) {
  uint64_t value = 0;
  for (unsigned shift = 0; shift < max_bits; shift += 7) {
    if (in.empty()) return std::nullopt;
    const auto byte = static_cast<uint8_t>(in.front());
    in = in.subspan(1);
    const uint64_t bits = byte & 0x7f;
    if (max_bits - shift < 7 && (bits >> (max_bits - shift)) != 0) return std::nullopt;
    value |= bits << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;
}
inline std::optional<uint64_t> get_varint64(std::span<const std::byte>& in) {
  return get_varint(in, 64);
}
inline std::optional<uint32_t> get_varint32(std::span<const std::byte>& in) {
  auto v = get_varint(in, 32);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

}  // namespace tensorferry::tf_bundle
