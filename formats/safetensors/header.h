// The safetensors header: parsing with the reference reader's validation, and encoding.
//
// Layout: u64 little-endian N, N bytes of UTF-8 JSON, then the data buffer. The JSON object maps
// each tensor name to {"dtype": "F32", "shape": [d0, ...], "data_offsets": [BEGIN, END]} with
// offsets relative to the data buffer, plus an optional "__metadata__" string-to-string map.
// Writers pad the JSON with spaces so the data buffer starts 8-aligned.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tensorferry {

// The reference reader (huggingface/safetensors `MAX_HEADER_SIZE`) refuses longer headers.
constexpr uint64_t kSafetensorsMaxHeaderSize = 100'000'000;
// The reference has no bound on rank; this one keeps a hostile header from making millions of
// dimensions (TensorFlow allows 254, PyTorch 64).
constexpr size_t kSafetensorsMaxRank = 1024;

struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  uint64_t begin = 0;  // data_offsets, relative to the data buffer
  uint64_t end = 0;
  uint64_t entry_offset = 0;    // file offset of the entry's key in the header
  uint64_t offsets_offset = 0;  // file offset of its data_offsets array
};

struct SafetensorsHeader {
  uint64_t json_size = 0;   // N
  uint64_t data_start = 0;  // 8 + N: file offset of the data buffer
  // Sorted by data offsets (ties keep header order), each validated against its neighbours.
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Parses and validates the whole file layout: `file` is the complete file (a mapping), `path`
// names it in errors. Throws Error(kBadInput) with the file offset of the first problem.
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file,
                                           const std::string& path);

// The JSON header for `tensors` stored back to back in this order, padded with spaces to a
// multiple of 8 bytes (the u64 length prefix is not included). `metadata` becomes __metadata__
// (omitted when empty). Each nbytes must already match its dtype and shape, and their sum fit in
// 64 bits: the writer checks both before it gets here.
// Throws Error(kUsage) naming the tensor when a name cannot be stored.
std::string encode_safetensors_header(
    const std::vector<TensorInfo>& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace tensorferry
