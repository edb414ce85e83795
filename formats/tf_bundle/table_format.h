// The pieces of the LevelDB table format that TensorFlow uses for a bundle's .index file
// (tensorflow/core/lib/io/format.h; LevelDB's table_format.md): block handles, block trailers and
// the 48-byte footer. TensorFlow writes no meta blocks (no Bloom filter), so the metaindex block is
// always empty.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace tensorferry::tf_bundle {

constexpr uint64_t kTableMagic = 0xdb4775248b80fb57ull;  // last 8 bytes of the file, little-endian
constexpr size_t kFooterSize = 48;       // two handles padded to 40 bytes, then the magic
constexpr size_t kMaxHandleSize = 20;    // two varint64
constexpr size_t kBlockTrailerSize = 5;  // compression type byte + masked CRC32C
constexpr uint8_t kNoCompression = 0;
constexpr uint8_t kSnappyCompression = 1;

// Where a block lies in the file; `size` excludes the 5-byte trailer.
struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

void encode_block_handle(std::string& out, const BlockHandle& handle);
// Decodes a handle from the front of `in`, advancing it; nullopt when the varints are malformed.
std::optional<BlockHandle> decode_block_handle(std::span<const std::byte>& in);

// The masked CRC32C a block trailer stores: over the block bytes followed by the type byte.
uint32_t block_checksum(std::span<const std::byte> block, uint8_t compression_type);

// Key helpers used to build short index keys (LevelDB's bytewise comparator): a key `s` with
// start <= s < limit, as short as possible; and a short key >= `key`.
void shorten_separator(std::string& start, std::string_view limit);
void shorten_successor(std::string& key);

}  // namespace tensorferry::tf_bundle
