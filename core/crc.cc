#include "core/crc.h"

#include <zlib.h>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#include <wmmintrin.h>
#endif

namespace tensorferry {
namespace {

constexpr uint32_t kCastagnoliReflected = 0x82f63b78u;

// Slicing-by-8 tables for machines without the crc32 instruction.
struct SoftwareTables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  SoftwareTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? kCastagnoliReflected : 0);
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};

uint32_t software_extend(uint32_t crc, const uint8_t* p, size_t n) {
  static const SoftwareTables tables;
  const auto& t = tables.t;
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    word ^= c;
    c = t[7][word & 0xff] ^ t[6][(word >> 8) & 0xff] ^ t[5][(word >> 16) & 0xff] ^
        t[4][(word >> 24) & 0xff] ^ t[3][(word >> 32) & 0xff] ^ t[2][(word >> 40) & 0xff] ^
        t[1][(word >> 48) & 0xff] ^ t[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of 3 cycles but issues every cycle, so one dependency chain
// uses a third of it. Large inputs are cut into blocks of three lanes of kLane bytes, each lane
// run as its own chain; the lanes are then joined by the linearity of the raw register (no
// pre/post inversion): raw(s, A|B) = Z(raw(s, A)) ^ raw(0, B), where Z advances a register over
// kLane zero bytes. Z is linear in the register, so it is applied as four byte-indexed tables.
constexpr size_t kLane = 4096;

__attribute__((target("sse4.2"))) uint64_t raw_chain(uint64_t c, const uint8_t* p, size_t n) {
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

struct ZeroLaneShift {
  std::array<std::array<uint32_t, 256>, 4> t{};
  ZeroLaneShift() {
    static const uint8_t zeros[kLane] = {};
    for (int k = 0; k < 4; ++k)
      for (uint32_t b = 0; b < 256; ++b)
        t[k][b] = static_cast<uint32_t>(raw_chain(uint64_t{b} << (8 * k), zeros, kLane));
  }
  uint32_t operator()(uint32_t c) const {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
  }
};

__attribute__((target("sse4.2"))) uint32_t hardware_extend(uint32_t crc, const uint8_t* p,
                                                           size_t n) {
  uint64_t c = ~crc;
  if (n >= 3 * kLane) {
    static const ZeroLaneShift shift;
    for (; n >= 3 * kLane; n -= 3 * kLane, p += 3 * kLane) {
      uint64_t c1 = 0, c2 = 0;
      const uint8_t* p1 = p + kLane;
      const uint8_t* p2 = p + 2 * kLane;
      for (size_t i = 0; i < kLane; i += 8) {
        uint64_t w0, w1, w2;
        std::memcpy(&w0, p + i, 8);
        std::memcpy(&w1, p1 + i, 8);
        std::memcpy(&w2, p2 + i, 8);
        c = _mm_crc32_u64(c, w0);
        c1 = _mm_crc32_u64(c1, w1);
        c2 = _mm_crc32_u64(c2, w2);
      }
      c = shift(shift(static_cast<uint32_t>(c)) ^ static_cast<uint32_t>(c1)) ^
          static_cast<uint32_t>(c2);
    }
  }
  return ~static_cast<uint32_t>(raw_chain(c, p, n));
}

bool cpu_has_sse42() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return (c & bit_SSE4_2) != 0;
}
#endif

}  // namespace

uint32_t crc32c_extend(uint32_t crc, std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
#if defined(__x86_64__)
  static const bool hardware = cpu_has_sse42();
  if (hardware) return hardware_extend(crc, p, data.size());
#endif
  return software_extend(crc, p, data.size());
}

namespace {

uint32_t zlib_extend(uint32_t crc, const uint8_t* p, size_t n) {
  uLong c = crc;
  while (n > 0) {  // zlib takes uInt lengths
    const uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    c = ::crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

#if defined(__x86_64__)
// CRC-32 by folding with carry-less multiplies (the method of Intel's "Fast CRC Computation for
// Generic Polynomials Using PCLMULQDQ", constants derived here). In the bit-reflected order the
// zip CRC uses, a 16-byte block X = H x^64 + G (H = bytes 0-7, the higher powers) that lies F bits
// before block Y can be replaced by H (x^(F+32) mod P) x^32 + G (x^(F-32) mod P) x^32 added into
// Y: congruent mod P, so the CRC is unchanged. A product of a reflected 64-bit lane and a reflected
// 33-bit constant, read as a block aligned with Y, carries exactly that extra x^32. The initial
// register is XORed into the first four bytes; the last block and the tail go through zlib.
constexpr uint64_t kZipPoly = 0x104C11DB7ull;  // x^32 + ... + 1, normal order

uint64_t x_pow_mod(unsigned n) {  // x^n mod P, normal order, degree < 32
  uint64_t r = 1;
  for (unsigned i = 0; i < n; ++i) {
    r <<= 1;
    if (r & (1ull << 32)) r ^= kZipPoly;
  }
  return r;
}

uint64_t reflect33(uint64_t v) {  // bit j = coefficient of x^(32-j)
  uint64_t r = 0;
  for (int j = 0; j <= 32; ++j)
    if (v & (1ull << (32 - j))) r |= 1ull << j;
  return r;
}

struct FoldConstants {
  uint64_t by512_lo, by512_hi, by128_lo, by128_hi;
  FoldConstants()
      : by512_lo(reflect33(x_pow_mod(512 + 32))),
        by512_hi(reflect33(x_pow_mod(512 - 32))),
        by128_lo(reflect33(x_pow_mod(128 + 32))),
        by128_hi(reflect33(x_pow_mod(128 - 32))) {}
};

__attribute__((target("pclmul,sse4.1"))) inline __m128i fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(
      _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

__attribute__((target("pclmul,sse4.1"))) uint32_t folding_extend(uint32_t crc, const uint8_t* p,
                                                                 size_t n) {
  static const FoldConstants c;
  const __m128i k512 =
      _mm_set_epi64x(static_cast<long long>(c.by512_hi), static_cast<long long>(c.by512_lo));
  const __m128i k128 =
      _mm_set_epi64x(static_cast<long long>(c.by128_hi), static_cast<long long>(c.by128_lo));
  auto load = [](const uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(~crc)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; n -= 64, p += 64) {
    x0 = fold(x0, k512, load(p));
    x1 = fold(x1, k512, load(p + 16));
    x2 = fold(x2, k512, load(p + 32));
    x3 = fold(x3, k512, load(p + 48));
  }
  __m128i x = fold(fold(fold(x0, k128, x1), k128, x2), k128, x3);
  for (; n >= 16; n -= 16, p += 16) x = fold(x, k128, load(p));
  alignas(16) uint8_t last[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(last), x);
  return zlib_extend(zlib_extend(0xffffffffu, last, 16), p, n);
}

bool cpu_has_pclmul() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return (c & bit_PCLMUL) != 0 && (c & bit_SSE4_1) != 0;
}
#endif

}  // namespace

uint32_t crc32_extend(uint32_t crc, std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
#if defined(__x86_64__)
  static const bool pclmul = cpu_has_pclmul();
  if (pclmul && data.size() >= 256) return folding_extend(crc, p, data.size());
#endif
  return zlib_extend(crc, p, data.size());
}

}  // namespace tensorferry
