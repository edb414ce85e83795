// torch.save's legacy stream (the default before torch 1.6; still written with
// `_use_new_zipfile_serialization=False`): pickles back to back, then raw storages.
//   1. pickle of MAGIC_NUMBER 0x1950a86a20f9469cfc6c (a LONG1)
//   2. pickle of PROTOCOL_VERSION 1001
//   3. pickle of sys_info {'protocol_version', 'little_endian', 'type_sizes'}
//   4. pickle of the object; persistent ids are
//      ('storage', <StorageType>, key, location, numel, view_metadata)
//   5. pickle of the list of storage keys, in the order their bytes follow
//   6. per key: int64 little-endian element count (elements of the storage type; bytes for
//      UntypedStorage), then the storage's raw bytes.
// Keys are the storages' memory addresses as decimal strings; they mean nothing but identity.
#pragma once

#include <memory>
#include <span>

#include "core/checkpoint.h"
#include "core/mapped_file.h"
#include "formats/torch/pickle_machine.h"

namespace tensorferry {

// The magic-number pickle at the start of the file (protocol 2 and up, framed or not).
bool looks_like_torch_legacy(std::span<const std::byte> first_bytes);

std::unique_ptr<CheckpointReader> open_torch_legacy(const std::shared_ptr<const MappedFile>& file,
                                                    const PickleLimits& limits = {});

}  // namespace tensorferry
