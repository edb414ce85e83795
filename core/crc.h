// Checksums used by the containers: CRC-32C (Castagnoli; TensorFlow tables and bundles, with
// LevelDB's masking) and CRC-32 (zlib polynomial; zip).
#pragma once

#include <cstdint>
#include <span>

namespace tensorferry {

// CRC-32C of `data` continuing from `crc` (0 to start). Uses SSE4.2 when the CPU has it.
uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data);
inline uint32_t crc32c(std::span<const std::byte> data) { return crc32c_extend(0, data); }

// LevelDB/TensorFlow stored form: rotate right by 15, then add a constant, so that a CRC of data
// containing embedded CRCs is not trivially related to them.
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t crc32c_unmask(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

// zlib CRC-32 continuing from `crc` (0 to start).
uint32_t crc32_extend(uint32_t crc, std::span<const std::byte> data);

}  // namespace tensorferry
