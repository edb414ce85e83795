// DT_STRING tensors: how a bundle stores them, and tensorferry's own encoding.
//
// Bundle layout (tensor_bundle.cc WriteStringTensor):
//   varint64 length[n]     one per element
//   fixed32  Mask(crc_L)   crc_L = CRC32C of the lengths as fixed-width little-endian integers
//                          (uint32 when the length fits, else uint64), not of the varints
//   bytes                  the elements' bytes, concatenated
// The entry's crc32c is Mask(c), where c continues crc_L over the 4 stored checksum bytes and then
// over the element bytes. TensorFlow's reader also accepts a stored size of 0 (all elements empty,
// c = 0); its writer never produces one. tensorferry's encoding (what CheckpointReader::read
// returns): per element, u64 LE length then the bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace tensorferry::tf_bundle {

// What the lengths at the front of a stored string tensor say. Throws Error(kBadInput) (message
// only; callers add file and tensor) when the varints are malformed or the sizes do not add up
// to `stored_size` exactly.
struct StringTensorLayout {
  uint64_t count = 0;          // elements
  uint64_t lengths_bytes = 0;  // bytes of the varint lengths
  uint64_t element_bytes = 0;  // total bytes of the elements
  uint64_t encoded_size() const { return 8 * count + element_bytes; }  // tensorferry encoding
};
StringTensorLayout parse_string_tensor(std::span<const std::byte> stored, uint64_t count);

// Checks both checksums of a stored string tensor against the entry's masked crc32c and writes
// the tensorferry encoding into `out`.
void decode_string_tensor(std::span<const std::byte> stored, const StringTensorLayout& layout,
                          uint32_t entry_masked_crc, std::vector<std::byte>& out);

// Writes the bundle layout of `encoded` (tensorferry encoding of `count` elements) through `sink`
// in pieces and returns the entry's masked crc32c. Throws Error(kUsage) when `encoded` is not a
// valid encoding of `count` elements.
uint32_t encode_string_tensor(std::span<const std::byte> encoded, uint64_t count,
                              const std::function<void(std::span<const std::byte>)>& sink);

// Number of elements in a tensorferry string encoding, with its validity checked; nullopt when
// it is malformed.
std::optional<uint64_t> count_encoded_strings(std::span<const std::byte> encoded);

}  // namespace tensorferry::tf_bundle
