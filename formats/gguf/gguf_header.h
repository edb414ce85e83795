// GGUF (version 2 and 3), all little-endian:
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_count
//   metadata_count x { string key | u32 value_type | value }
//       string = u64 byte length + bytes (no NUL); array = u32 element type | u64 count | elements
//   tensor_count x { string name | u32 n_dims | u64 ne[n_dims] (ne[0] innermost) | u32 ggml_type
//                    | u64 offset (from the data section start) }
//   zero padding to `general.alignment` (u32 metadata entry, default 32)
//   data section: each tensor at its offset, a multiple of the alignment
// Every count, length, dimension, type and offset is checked against the file before it is used.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/gguf/gguf_types.h"
#include "formats/gguf/gguf_value.h"

namespace tensorferry {

struct GgufTensorRecord {
  std::string name;
  std::vector<uint64_t> ne;  // ggml order: ne[0] is the innermost (contiguous) dimension
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t nbytes = 0;  // stored bytes (blocks for quantized types)
  uint64_t elements = 0;
  uint64_t record_offset = 0;  // where its record starts in the file (for messages)
};

struct GgufHeader {
  uint32_t version = kGgufVersion;
  GgufMetadata metadata;
  std::vector<GgufTensorRecord> tensors;
  uint32_t alignment = kGgufDefaultAlignment;
  uint64_t data_start = 0;  // file offset of the data section
};

bool looks_like_gguf(std::span<const std::byte> first_bytes);

// Throws Error(kBadInput) naming `path`, the tensor or key, and the byte offset of what is wrong.
GgufHeader parse_gguf_header(std::span<const std::byte> file, const std::string& path);

}  // namespace tensorferry
