// Refusing, before anything is written, an output the disk cannot hold or the input cannot
// account for.
//
// A checkpoint declares its tensors' sizes independently of the bytes it stores: a torch file
// can give 300 000 names to views of one 4 MiB storage, or view one element with stride 0 as a
// [2^16, 2^16] tensor, and a converter writes every one of them out densely. So before the first
// byte, the size the output will have (its tensors plus an allowance per tensor for the
// container's own records) is compared with
//   - the input: more than kMaxExpansion times the bytes of the files holding the input's tensors
//     is refused (exit 3) unless the caller allows it (`--allow-expansion`); outputs up to
//     kExpansionFloor are never refused on this ground;
//   - the free space of the filesystem the output goes to (statvfs f_bavail): an output that
//     cannot fit is refused (exit 4).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/checkpoint.h"

namespace tensorferry {

// A dense copy with a dtype cast (f16 -> f32 doubles) of a checkpoint whose tied weights are
// written once per name (at most doubles again) stays within this factor.
inline constexpr uint64_t kMaxExpansion = 8;
inline constexpr uint64_t kExpansionFloor = uint64_t{64} << 20;
// Allowance per tensor for headers, index entries, zip records, HDF5 object headers.
inline constexpr uint64_t kRecordAllowance = 1024;

// The tensors' bytes plus kRecordAllowance and the name once more per tensor (saturating).
uint64_t estimate_output_bytes(const std::vector<TensorInfo>& tensors);

// Bytes of the files the reader's tensors come from (each file once), plus the file it was
// opened with when that is a different regular file (a shard index).
uint64_t input_footprint(const CheckpointReader& reader);

struct OutputSpaceRequest {
  std::filesystem::path output;  // where the output goes (need not exist yet)
  uint64_t output_bytes = 0;     // estimate_output_bytes() plus any side files
  uint64_t input_bytes = 0;      // input_footprint()
  std::string input;             // named in the expansion refusal
  bool allow_expansion = false;
};

// Throws Error(kBadInput) for an expansion beyond kMaxExpansion (unless allowed) and Error(kIo)
// when the output's filesystem has less free space than output_bytes.
void check_output_space(const OutputSpaceRequest& request);

// f_bavail * f_frsize of the filesystem holding `path` or, when it does not exist yet, its
// nearest existing ancestor.
uint64_t free_bytes_for(const std::filesystem::path& path);

}  // namespace tensorferry
