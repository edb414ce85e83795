// Little-endian loads and stores, and overflow-checked arithmetic for sizes read from untrusted
// headers. Every format parser computes offsets through these so that a hostile count can never
// wrap around into a small allocation or an in-bounds-looking offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace tensorferry {

template <typename T>
T load_le(const std::byte* p) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  std::memcpy(&value, p, sizeof(T));  // every supported host is little-endian (checked in CMake)
  return value;
}

template <typename T>
void store_le(std::byte* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::string_view as_chars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

inline std::span<const std::byte> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

}  // namespace tensorferry
