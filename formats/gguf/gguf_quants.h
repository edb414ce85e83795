// Block quantization as ggml's reference code does it (ggml-quants.c, quantize_row_q8_0_ref and
// dequantize_row_*): the same float operations in the same order, so that results are bit-identical
// to llama.cpp's own (checked against gguf-py and llama.cpp in tests/python/cross/test_gguf*.py).
//   q8_0 (32 elements, 34 bytes): f16 d | i8 qs[32];                 x = d * q
//   q4_0 (32, 18): f16 d | u8 qs[16] (low nibbles: elements 0-15, high: 16-31); x = d * (q - 8)
//   q4_K (256, 144): f16 d | f16 dmin | u8 scales[12] (8 six-bit scale/min pairs) | u8 qs[128]
//   q6_K (256, 210): u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/gguf/gguf_types.h"

namespace tensorferry {

// Quantizes `count` floats (a multiple of 32) into q8_0 blocks at `dst`. Blocks of finite values
// go through AVX2 when the CPU has it, with the same results as the reference code (roundf's
// ties away from zero included); the others, and every block on other CPUs, through
// quantize_q8_0_reference.
void quantize_q8_0(const float* src, std::byte* dst, uint64_t count);
// ggml's scalar reference, exposed for the test that holds the fast path to it.
void quantize_q8_0_reference(const float* src, std::byte* dst, uint64_t count);

// Whether dequantize() handles `type`: q8_0, q4_0, q4_K, q6_K.
bool can_dequantize(GgmlType type);
// Expands `count` elements (a multiple of the block size) of `type` at `src` into floats.
void dequantize(GgmlType type, const std::byte* src, float* dst, uint64_t count);

}  // namespace tensorferry
