// TensorFlow checkpoints (tensor bundle V2): PREFIX.index (a LevelDB table of BundleEntryProto)
// and PREFIX.data-NNNNN-of-MMMMM, with the `checkpoint` state file beside them.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/checkpoint.h"

namespace tensorferry {

bool looks_like_tf_index(std::span<const std::byte> last_bytes_of_file);
// A prefix, a PREFIX.index file, or a folder with a `checkpoint` state file.
std::unique_ptr<CheckpointReader> open_tf_bundle(const std::string& path);

struct TfBundleOptions {
  bool object_based = false;  // TF2 names (.ATTRIBUTES/VARIABLE_VALUE) + object graph
  size_t num_shards = 1;
  bool write_state_file = true;  // the `checkpoint` file next to the prefix
};
// `prefix` is e.g. /out/model.ckpt; options.shard_size > 0 sets the number of data shards.
std::unique_ptr<CheckpointWriter> create_tf_bundle_writer(const std::string& prefix,
                                                          const WriterOptions& options,
                                                          const TfBundleOptions& bundle = {});

}  // namespace tensorferry
