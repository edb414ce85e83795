// torch.save's zip layout (torch >= 1.6). All records sit under one top-level folder, the archive
// name, which torch takes from the first central-directory entry:
//   <archive>/data.pkl      the object, pickled; storages replaced by persistent ids
//                           ('storage', <StorageType>, key, location, numel)
//   <archive>/data/<key>    one record per storage: its raw bytes
//   <archive>/version       "3\n" (or <archive>/.data/version); required, 1..10
//   <archive>/byteorder     "little" or "big"; absent means little
// plus informational records (.format_version, .storage_alignment, .data/serialization_id).
#pragma once

#include <memory>
#include <span>

#include "core/checkpoint.h"
#include "core/mapped_file.h"
#include "formats/torch/pickle_machine.h"

namespace tensorferry {

// Local file header magic plus a first entry inside a folder, as every torch.save zip has (other
// zip-based files, .npz and .keras, keep their entries at the top level).
bool looks_like_torch_zip(std::span<const std::byte> first_bytes);

std::unique_ptr<CheckpointReader> open_torch_zip(const std::shared_ptr<const MappedFile>& file,
                                                 const PickleLimits& limits = {});

}  // namespace tensorferry
