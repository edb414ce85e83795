// PyTorch `torch.save` files: the zip container (torch >= 1.6) and the legacy pickle stream,
// read through a restricted pickle machine that never executes code.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/checkpoint.h"

namespace tensorferry {

bool looks_like_torch(std::span<const std::byte> first_bytes, uint64_t file_size);
// One file, or a pytorch_model.bin.index.json with its shards.
std::unique_ptr<CheckpointReader> open_torch(const std::string& path);
// Checks the CRC-32 of every entry of a torch.save zip file, including records no tensor refers
// to; returns how many were checked (0 for the legacy format, which stores no checksums). Throws
// Error(kBadInput) naming the entry's offset on the first mismatch.
uint64_t verify_torch_zip_checksums(const std::string& path);
// Writes a zip file that torch.load(weights_only=True) accepts (shards beside it when asked).
std::unique_ptr<CheckpointWriter> create_torch_writer(const std::string& path,
                                                      const WriterOptions& options);

}  // namespace tensorferry
