#include "formats/tf_bundle/string_tensor.h"

#include "core/bytes.h"
#include "core/crc.h"
#include "core/error.h"
#include "formats/tf_bundle/varint.h"

namespace tensorferry::tf_bundle {
namespace {

// Extends `crc` with a length the way the length checksum counts it: as a uint32 when it fits
// (what checkpoints before 64-bit lengths held), else as a uint64.
uint32_t extend_with_length(uint32_t crc, uint64_t length) {
  std::byte bytes[8];
  if (length <= UINT32_MAX) {
    store_le(bytes, static_cast<uint32_t>(length));
    return crc32c_extend(crc, std::span(bytes, 4));
  }
  store_le(bytes, length);
  return crc32c_extend(crc, std::span(bytes, 8));
}

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorKind::kBadInput, message); }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

StringTensorLayout parse_string_tensor(std::span<const std::byte> stored, uint64_t count) {
  StringTensorLayout layout;
  layout.count = count;
  if (stored.empty()) return layout;  // TensorFlow reads this as `count` empty strings
  // Every element takes at least one varint byte: bound the count before looping over it.
  if (count > stored.size())
    bad("string tensor of " + std::to_string(count) + " elements cannot fit in " +
        std::to_string(stored.size()) + " bytes");
  auto in = stored;
  for (uint64_t i = 0; i < count; ++i) {
    const auto length = get_varint64(in);
    if (!length) bad("malformed length of string element " + std::to_string(i));
    const auto total = checked_add(layout.element_bytes, *length);
    if (!total || *total > stored.size())
      bad("string element " + std::to_string(i) + " is longer than the stored tensor");
    layout.element_bytes = *total;
  }
  layout.lengths_bytes = stored.size() - in.size();
  const uint64_t expected = layout.lengths_bytes + 4 + layout.element_bytes;
  if (expected != stored.size())
    bad("string tensor lengths add up to " + std::to_string(expected) +
        " bytes but the entry's size is " + std::to_string(stored.size()));
  return layout;
}

void decode_string_tensor(std::span<const std::byte> stored, const StringTensorLayout& layout,
                          uint32_t entry_masked_crc, std::vector<std::byte>& out) {
  out.resize(layout.encoded_size());
  std::byte* dst = out.data();
  uint32_t crc = 0;
  if (!stored.empty()) {
    auto lengths = stored.first(layout.lengths_bytes);
    const auto checksum_bytes = stored.subspan(layout.lengths_bytes, 4);
    auto elements = stored.subspan(layout.lengths_bytes + 4);
    // First pass: the length checksum, before any element is trusted.
    for (auto in = lengths; !in.empty();) crc = extend_with_length(crc, *get_varint64(in));
    const uint32_t stored_length_crc = load_le<uint32_t>(checksum_bytes.data());
    if (crc32c_unmask(stored_length_crc) != crc)
      bad("string lengths checksum mismatch (stored " + hex32(crc32c_unmask(stored_length_crc)) +
          ", computed " + hex32(crc) + "): data corrupt");
    crc = crc32c_extend(crc, checksum_bytes);
    crc = crc32c_extend(crc, elements);
    for (auto in = lengths; !in.empty();) {
      const uint64_t length = *get_varint64(in);
      store_le(dst, length);
      std::memcpy(dst + 8, elements.data(), length);
      elements = elements.subspan(length);
      dst += 8 + length;
    }
  } else {
    for (uint64_t i = 0; i < layout.count; ++i, dst += 8) store_le(dst, uint64_t{0});
  }
  if (crc32c_unmask(entry_masked_crc) != crc)
    bad("checksum mismatch (stored CRC32C " + hex32(crc32c_unmask(entry_masked_crc)) +
        ", computed " + hex32(crc) + "): data corrupt");
}

std::optional<uint64_t> count_encoded_strings(std::span<const std::byte> encoded) {
  uint64_t count = 0;
  while (!encoded.empty()) {
    if (encoded.size() < 8) return std::nullopt;
    const uint64_t length = load_le<uint64_t>(encoded.data());
    if (length > encoded.size() - 8) return std::nullopt;
    encoded = encoded.subspan(8 + length);
    ++count;
  }
  return count;
}

uint32_t encode_string_tensor(std::span<const std::byte> encoded, uint64_t count,
                              const std::function<void(std::span<const std::byte>)>& sink) {
  const auto actual = count_encoded_strings(encoded);
  if (!actual || *actual != count)
    throw Error(ErrorKind::kUsage, "string tensor bytes are not tensorferry's string encoding of " +
                                       std::to_string(count) + " elements");
  std::string header;
  uint32_t crc = 0;
  for (auto in = encoded; !in.empty();) {
    const uint64_t length = load_le<uint64_t>(in.data());
    put_varint64(header, length);
    crc = extend_with_length(crc, length);
    in = in.subspan(8 + length);
  }
  put_fixed32(header, crc32c_mask(crc));
  crc = crc32c_extend(crc, as_bytes(header).last(4));
  sink(as_bytes(header));
  for (auto in = encoded; !in.empty();) {
    const uint64_t length = load_le<uint64_t>(in.data());
    const auto element = in.subspan(8, length);
    crc = crc32c_extend(crc, element);
    sink(element);
    in = in.subspan(8 + length);
  }
  return crc32c_mask(crc);
}

}  // namespace tensorferry::tf_bundle
