// File names of a bundle and the constants both its reader and writer follow
// (tensorflow/core/util/tensor_bundle/naming.cc, tensor_bundle.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tensorferry::tf_bundle {

// kTensorBundleVersion: what the header's VersionDef.producer says, and the consumer version a
// reader must be compatible with.
constexpr int kBundleVersion = 1;

inline std::string index_file_name(const std::string& prefix) { return prefix + ".index"; }

// PREFIX.data-00000-of-00003: shard ids count from 0, five digits at least.
std::string data_file_name(const std::string& prefix, uint64_t shard, uint64_t num_shards);

// PREFIX.data-00000-of-00001 -> PREFIX; nullopt for any other name.
std::optional<std::string> prefix_of_data_file(const std::string& path);

}  // namespace tensorferry::tf_bundle
