// The CRC fast paths (interleaved lanes for CRC-32C) against the plain one-chain computation.
#include "core/crc.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tensorferry {
namespace {

std::vector<std::byte> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

// Pieces of 7 bytes never reach the lane path; any length and start offset must agree with them.
uint32_t crc32c_in_small_pieces(uint32_t crc, std::span<const std::byte> data) {
  for (size_t i = 0; i < data.size(); i += 7)
    crc = crc32c_extend(crc, data.subspan(i, std::min<size_t>(7, data.size() - i)));
  return crc;
}

TEST(Crc32cLanes, LargeInputsMatchOneChain) {
  const auto data = random_bytes(200'000 + 5, 1);  // room for the largest size at each start
  for (size_t size : {12287u, 12288u, 12289u, 24576u, 40000u, 199'999u}) {
    for (size_t start : {0u, 1u, 5u}) {
      const auto piece = std::span(data).subspan(start, size);
      EXPECT_EQ(crc32c(piece), crc32c_in_small_pieces(0, piece)) << size << " at " << start;
      EXPECT_EQ(crc32c_extend(0x12345678u, piece), crc32c_in_small_pieces(0x12345678u, piece));
    }
  }
}

TEST(Crc32cLanes, KnownVectors) {
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros and of 0xff.
  std::vector<std::byte> zeros(32), ones(32, std::byte{0xff});
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  // A megabyte of zeros through the lanes equals the same through small pieces.
  std::vector<std::byte> mb(1 << 20);
  EXPECT_EQ(crc32c(mb), crc32c_in_small_pieces(0, mb));
}

TEST(Crc32Zip, LargeInputsMatchSmallPieces) {
  const auto data = random_bytes(300'000, 2);
  uint32_t pieces = 0;
  for (size_t i = 0; i < data.size(); i += 13)
    pieces =
        crc32_extend(pieces, std::span(data).subspan(i, std::min<size_t>(13, data.size() - i)));
  EXPECT_EQ(crc32_extend(0, data), pieces);
}

}  // namespace
}  // namespace tensorferry
