// Sharded checkpoints as Hugging Face lays them out: `model-00001-of-00003.safetensors`, ... plus
// `model.safetensors.index.json` ({"metadata": {"total_size": N}, "weight_map": {tensor: file}}).
// The same layout serves safetensors, PyTorch `.bin` and Keras `.h5`, so it lives here once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/checkpoint.h"

namespace tensorferry {

// "model.safetensors", 0, 3 -> "model-00001-of-00003.safetensors"
std::string shard_file_name(const std::string& single_file_name, size_t index, size_t count);

// Whether `s` is the numbering of a shard, "00001-of-00003": two decimals of five digits or more
// (both HF's shard names and TensorFlow's PREFIX.data-00000-of-00001 use it).
bool is_shard_numbering(std::string_view s);

// "model-00002-of-00003.safetensors" for "model.safetensors": a shard file of that name, of any
// count (a file name, without folder).
bool is_shard_file_of(const std::string& single_file_name, std::string_view file_name);

// Groups tensors, in order, into shards of at most `shard_size` bytes (a larger tensor gets a
// shard of its own). Returns the shard index of each tensor.
std::vector<size_t> assign_shards(const std::vector<TensorInfo>& tensors, uint64_t shard_size);

struct ShardIndex {
  std::string path;                                             // the index file
  std::vector<std::string> files;                               // distinct shard files, sorted
  std::vector<std::pair<std::string, std::string>> weight_map;  // tensor -> file name
  std::map<std::string, std::string> metadata;                  // string-valued metadata entries
  uint64_t total_size = 0;  // metadata.total_size, 0 when absent
};

// Parses and validates an index: shard names must be plain file names next to the index.
ShardIndex read_shard_index(const std::string& index_path);

// Opens every shard with `open_shard`, checks each tensor lies in the shard the index names and
// that no tensor is missing or duplicated, and presents them as one checkpoint.
std::unique_ptr<CheckpointReader> open_sharded(
    const std::string& index_path,
    const std::function<std::unique_ptr<CheckpointReader>(const std::string&)>& open_shard);

// A writer that splits tensors into shards written by `create_shard` (which gets a file path and
// the options minus shard_size) and writes the index last. With shard_size 0, or when everything
// fits one shard, it writes the single file under its plain name and no index.
std::unique_ptr<CheckpointWriter> create_sharded_writer(
    const std::string& single_file_path, const WriterOptions& options,
    const std::function<std::unique_ptr<CheckpointWriter>(const std::string&,
                                                          const WriterOptions&)>& create_shard);

}  // namespace tensorferry
