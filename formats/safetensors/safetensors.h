// safetensors: u64 LE header length N, N bytes of JSON header, then the data buffer.
// Validated like the reference reader before any byte is trusted.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/checkpoint.h"

namespace tensorferry {

bool looks_like_safetensors(std::span<const std::byte> first_bytes, uint64_t file_size);
// One .safetensors file, or a model.safetensors.index.json with its shards.
std::unique_ptr<CheckpointReader> open_safetensors(const std::string& path);
// Writes `path` (shards beside it when options.shard_size asks for them).
std::unique_ptr<CheckpointWriter> create_safetensors_writer(const std::string& path,
                                                            const WriterOptions& options);

}  // namespace tensorferry
