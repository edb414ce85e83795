#include "formats/tf_bundle/table_format.h"

#include "core/crc.h"
#include "formats/tf_bundle/varint.h"

namespace tensorferry::tf_bundle {

void encode_block_handle(std::string& out, const BlockHandle& handle) {
  put_varint64(out, handle.offset);
  put_varint64(out, handle.size);
}

std::optional<BlockHandle> decode_block_handle(std::span<const std::byte>& in) {
  auto offset = get_varint64(in);
  if (!offset) return std::nullopt;
  auto size = get_varint64(in);
  if (!size) return std::nullopt;
  return BlockHandle{*offset, *size};
}

uint32_t block_checksum(std::span<const std::byte> block, uint8_t compression_type) {
  const std::byte type{compression_type};
  return crc32c_mask(crc32c_extend(crc32c(block), std::span(&type, 1)));
}

void shorten_separator(std::string& start, std::string_view limit) {
  const size_t common_limit = std::min(start.size(), limit.size());
  size_t diff = 0;
  while (diff < common_limit && start[diff] == limit[diff]) ++diff;
  if (diff >= common_limit) return;  // one is a prefix of the other: nothing shorter fits
  const auto byte = static_cast<uint8_t>(start[diff]);
  if (byte < 0xff && byte + 1 < static_cast<uint8_t>(limit[diff])) {
    start[diff] = static_cast<char>(byte + 1);
    start.resize(diff + 1);
  }
}

void shorten_successor(std::string& key) {
  for (size_t i = 0; i < key.size(); ++i) {
    const auto byte = static_cast<uint8_t>(key[i]);
    if (byte != 0xff) {
      key[i] = static_cast<char>(byte + 1);
      key.resize(i + 1);
      return;
    }
  }
  // All 0xff bytes (or empty): no shorter successor exists; the key itself is a valid upper bound.
}

}  // namespace tensorferry::tf_bundle
