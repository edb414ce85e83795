// Entry points: detection, single files vs Hugging Face's sharded layout, and the renaming that
// gives both the same tensor names.
#include "formats/keras_h5/keras_h5.h"

#include <cstring>
#include <unordered_map>

#include "core/crc.h"
#include "core/error.h"
#include "formats/keras_h5/keras_h5_internal.h"
#include "formats/sharding.h"

namespace tensorferry {
namespace {

using keras_h5::first_component;
using keras_h5::hf_shard_dataset_name;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Another reader's tensors under other names.
class RenamedReader final : public CheckpointReader {
 public:
  RenamedReader(std::unique_ptr<CheckpointReader> inner, const std::vector<std::string>& names)
      : inner_(std::move(inner)), entries_(inner_->tensors()) {
    for (size_t i = 0; i < entries_.size(); ++i) entries_[i].name = names.at(i);
  }
  std::string format() const override { return inner_->format(); }
  std::string path() const override { return inner_->path(); }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) override {
    return inner_->read(index, scratch);
  }
  void release(size_t index) override { inner_->release(index); }
  std::map<std::string, std::string> metadata() const override { return inner_->metadata(); }

 private:
  std::unique_ptr<CheckpointReader> inner_;
  std::vector<TensorEntry> entries_;
};

// HF's sharded layout names a weight three ways: index key = full Keras weight name W
// ("tfgpt2lm_head_model/transformer/wte/embeddings:0"), shard dataset D = W without its model
// scope ("transformer/wte/embeddings:0"), and in a single tf_model.h5 "<layer>/<W>" where the
// layer is HF's top-level Keras layer, the first component of D. Shards are matched against the
// index by D -> W, then presented under the single-file name so that a model reads the same
// whether it was saved sharded or not.
std::unique_ptr<CheckpointReader> open_hf_sharded(const std::string& index_path) {
  const ShardIndex index = read_shard_index(index_path);
  std::unordered_map<std::string, std::string> key_of_dataset;
  for (const auto& [weight, file] : index.weight_map) {
    auto [it, inserted] = key_of_dataset.emplace(hf_shard_dataset_name(weight), weight);
    if (!inserted)
      throw_bad_input(index_path, std::nullopt,
                      "weights '" + it->second + "' and '" + weight +
                          "' would both be stored in a shard as '" + it->first + "'",
                      weight);
  }
  auto sharded = open_sharded(index_path, [&](const std::string& shard_path) {
    auto shard = keras_h5::open_file(shard_path);
    const auto layout = shard->metadata()[std::string(keras_h5::kLayoutKey)];
    if (layout != "hf-shard" && !shard->tensors().empty())
      throw_bad_input(
          shard_path, std::nullopt,
          "is a shard of " + index_path + " but holds layer groups, not HF's flat shard layout");
    std::vector<std::string> keys;
    for (const auto& entry : shard->tensors()) {
      auto it = key_of_dataset.find(entry.name);
      keys.push_back(it == key_of_dataset.end() ? entry.name : it->second);
    }
    return std::make_unique<RenamedReader>(std::move(shard), keys);
  });
  std::vector<std::string> names;
  for (const auto& entry : sharded->tensors())
    names.push_back(std::string(first_component(hf_shard_dataset_name(entry.name))) + "/" +
                    entry.name);
  return std::make_unique<RenamedReader>(std::move(sharded), names);
}

// The writer behind create_keras_h5_writer. Without sharding, one file in the Keras layout.
// With sharding, HF's layout: index keys W and shard datasets D derived from "<layer>/<W>" as
// above. A weight listed under two layers (BERT's mlm___cls group repeats the tied word
// embeddings of the bert group) is one weight to HF's sharded save (model.weights), so later
// copies are checked to hold the same bytes and dropped.
class KerasH5Writer final : public CheckpointWriter {
 public:
  KerasH5Writer(std::string path, WriterOptions options)
      : path_(std::move(path)), options_(std::move(options)) {}

  void begin(const std::vector<TensorInfo>& tensors) override {
    if (options_.shard_size == 0 || !plan_shards(tensors)) {
      WriterOptions single = options_;
      single.shard_size = 0;
      inner_ = keras_h5::create_file_writer(path_, single);
      inner_->begin(tensors);
      return;
    }
    WriterOptions shard_options = options_;
    // Shards carry no Keras attributes; what the single-file layout would have used must not
    // end up in the index's "metadata" either.
    for (auto key :
         {keras_h5::kBackendKey, keras_h5::kKerasVersionKey, keras_h5::kLayerNamesKey,
          keras_h5::kLayoutKey, keras_h5::kWeightsGroupKey, keras_h5::kOptimizerWeightsKey})
      shard_options.metadata.erase(std::string(key));
    inner_ = create_sharded_writer(path_, shard_options, keras_h5::create_hf_shard_writer);
    inner_->begin(unique_);
  }

  void write(size_t index, std::span<const std::byte> bytes) override {
    if (!inner_) throw_usage("keras-h5 writer: write() before begin()");
    if (target_.empty()) return inner_->write(index, bytes);
    if (const size_t original = copy_of_.at(index); original != kNone) {
      if (bytes.size() != sizes_.at(original) || crc32c(bytes) != crc_.at(original))
        throw Error(ErrorKind::kUsage,
                    "is stored once in HF's sharded layout, but its copy under another layer "
                    "holds different bytes",
                    path_, names_.at(index));
      return;
    }
    if (has_copies_[index]) {
      crc_[index] = crc32c(bytes);
      sizes_[index] = bytes.size();
    }
    inner_->write(target_.at(index), bytes);
  }

  void commit() override {
    if (!inner_) throw_usage("keras-h5 writer: commit() before begin()");
    inner_->commit();
  }

 private:
  static constexpr size_t kNone = SIZE_MAX;

  // Maps tensors to HF's sharded names; false when everything fits one file anyway (HF then
  // writes a plain tf_model.h5 with save_weights).
  bool plan_shards(const std::vector<TensorInfo>& tensors) {
    std::unordered_map<std::string, size_t> first_with_key;
    copy_of_.assign(tensors.size(), kNone);
    has_copies_.assign(tensors.size(), false);
    target_.assign(tensors.size(), kNone);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto& t = tensors[i];
      names_.push_back(t.name);
      const size_t slash = t.name.find('/');
      if (slash == std::string::npos)
        throw Error(ErrorKind::kUsage, "Keras .h5 tensor names are \"<layer>/<weight name>\"",
                    path_, t.name);
      TensorInfo key = t;
      key.name = t.name.substr(slash + 1);
      auto [it, inserted] = first_with_key.emplace(key.name, i);
      if (!inserted) {
        const auto& first = tensors[it->second];
        if (first.dtype != t.dtype || first.shape != t.shape)
          throw Error(ErrorKind::kUsage,
                      "has the same weight name as '" + first.name +
                          "' but another dtype or shape; HF's sharded layout stores one of them",
                      path_, t.name);
        copy_of_[i] = it->second;
        has_copies_[it->second] = true;
        continue;
      }
      target_[i] = unique_.size();
      unique_.push_back(std::move(key));
    }
    const auto shard_of = assign_shards(unique_, options_.shard_size);
    if (shard_of.empty() || shard_of.back() == 0) {
      target_.clear();
      return false;
    }
    // Reading back recovers the layer from the shard dataset name; check that it will.
    std::unordered_map<std::string, std::string> weight_of_dataset;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (copy_of_[i] != kNone) continue;
      const std::string& weight = unique_[target_[i]].name;
      const std::string dataset = hf_shard_dataset_name(weight);
      const std::string_view layer = first_component(tensors[i].name);
      if (first_component(dataset) != layer)
        throw Error(ErrorKind::kUsage,
                    "HF's sharded .h5 layout keeps only the weight name, and this one ('" + weight +
                        "') does not start with <model scope>/" + std::string(layer) +
                        "/, so layer '" + std::string(layer) +
                        "' would be lost; write a single file (no shard size)",
                    path_, tensors[i].name);
      auto [it, inserted] = weight_of_dataset.emplace(dataset, weight);
      if (!inserted)
        throw Error(ErrorKind::kUsage,
                    "HF's sharded layout would store this weight and '" + it->second +
                        "' under the same name '" + dataset + "'",
                    path_, tensors[i].name);
    }
    crc_.assign(tensors.size(), 0);
    sizes_.assign(tensors.size(), 0);
    return true;
  }

  std::string path_;
  WriterOptions options_;
  std::unique_ptr<CheckpointWriter> inner_;
  std::vector<TensorInfo> unique_;  // named by full weight name, one per distinct weight
  std::vector<std::string> names_;
  std::vector<size_t> target_;   // index in unique_; empty when not sharding
  std::vector<size_t> copy_of_;  // the earlier tensor this one repeats, or kNone
  std::vector<bool> has_copies_;
  std::vector<uint32_t> crc_;  // of tensors that have copies, to compare the copies with
  std::vector<uint64_t> sizes_;
};

}  // namespace

bool looks_like_hdf5(std::span<const std::byte> first_bytes) {
  // The superblock signature; HDF5 also looks at 512, 1024, ... (after a user block), but every
  // Keras and HF file starts with it.
  static constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  return first_bytes.size() >= sizeof kSignature &&
         std::memcmp(first_bytes.data(), kSignature, sizeof kSignature) == 0;
}

std::unique_ptr<CheckpointReader> open_keras_h5(const std::string& path) {
  if (ends_with(path, ".index.json")) return open_hf_sharded(path);
  return keras_h5::open_file(path);
}

std::unique_ptr<CheckpointWriter> create_keras_h5_writer(const std::string& path,
                                                         const WriterOptions& options) {
  return std::make_unique<KerasH5Writer>(path, options);
}

}  // namespace tensorferry
