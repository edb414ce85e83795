// The CheckpointReader both torch layouts (zip and legacy) end in: named strided views into
// storages whose bytes lie at known places in one mapped file.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/mapped_file.h"
#include "formats/torch/pickle_value.h"
#include "formats/torch/torch_unpickler.h"

namespace tensorferry {

// Where one storage's bytes are in the file.
struct StorageBytes {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::optional<uint32_t> crc32;  // checked on the first read of a tensor in it (zip only)
};

struct TorchFileLayout {
  std::shared_ptr<const MappedFile> file;
  std::vector<StorageBytes> storages;  // parallel to TorchUnpickler::storages()
  bool big_endian = false;             // stored bytes need swapping to little-endian
  uint64_t pickle_offset = 0;          // of the object's pickle: errors about it as a whole
  std::map<std::string, std::string> metadata;
};

// Names the tensors reachable from `root` (tensor_names.h), and checks each storage's bytes have
// the size its persistent id declares.
std::unique_ptr<CheckpointReader> make_torch_reader(TorchFileLayout layout, const ValueStore& store,
                                                    const TorchUnpickler& env, ValueId root);

}  // namespace tensorferry
