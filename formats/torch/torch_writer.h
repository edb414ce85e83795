// One torch.save-compatible zip file (the sharded writer in torch.cc wraps it).
#pragma once

#include <memory>
#include <string>

#include "core/checkpoint.h"

namespace tensorferry {

struct TorchWriterOptions {
  bool force = false;        // replace an existing file
  bool force_zip64 = false;  // ZIP64 records even when not needed (tests)
};

std::unique_ptr<CheckpointWriter> create_torch_file_writer(const std::string& path,
                                                           const TorchWriterOptions& options);

}  // namespace tensorferry
