// Keras 2 / Hugging Face weight files in HDF5 (`model.save_weights("x.h5")`, `tf_model.h5`).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/checkpoint.h"

namespace tensorferry {

bool looks_like_hdf5(std::span<const std::byte> first_bytes);
// One .h5 file, or a tf_model.h5.index.json with its shards.
std::unique_ptr<CheckpointReader> open_keras_h5(const std::string& path);
// Tensor names are full Keras weight names ("layer/scope/var:0"); the first component is the
// top-level layer (h5 group). Shards beside `path` when options.shard_size asks for them.
std::unique_ptr<CheckpointWriter> create_keras_h5_writer(const std::string& path,
                                                         const WriterOptions& options);

}  // namespace tensorferry
