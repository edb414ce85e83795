// Writing a tensor bundle the way TensorFlow's BundleWriter and MergeBundles do: tensor bytes are
// appended to the data shards as they arrive, only each tensor's entry (where it went, its
// checksum) is kept, and the sorted index is written at commit. Every file is staged under a
// temporary name; the data shards are published first, then the index (from then on TensorFlow
// sees the checkpoint), then the `checkpoint` state file that points at it.
#include <algorithm>
#include <filesystem>
#include <set>

#include "core/bytes.h"
#include "core/crc.h"
#include "core/direct_output.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output.h"
#include "formats/sharding.h"
#include "formats/tf_bundle/bundle.pb.h"
#include "formats/tf_bundle/bundle_files.h"
#include "formats/tf_bundle/checkpoint_state.h"
#include "formats/tf_bundle/object_graph_builder.h"
#include "formats/tf_bundle/string_tensor.h"
#include "formats/tf_bundle/table_writer.h"
#include "formats/tf_bundle/tensor_roles.h"
#include "formats/tf_bundle/tf_bundle.h"

namespace tensorferry {
namespace tf_bundle {
namespace {
namespace fs = std::filesystem;

// Everything the index needs about one tensor; its bytes are already in a data shard.
struct PendingEntry {
  std::string key;
  DType dtype = DType::kF32;
  Shape shape;
  uint64_t nbytes = 0;  // as given to write()
  size_t shard = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t masked_crc = 0;
};

struct DataShard {
  std::unique_ptr<AtomicOutput> output;
  std::unique_ptr<DirectOutputFile> file;
};

// Shard of each tensor: by WriterOptions::shard_size (bytes per shard), else spread over
// `num_shards` shards of about equal size, in order.
std::vector<size_t> plan_shards(const std::vector<TensorInfo>& tensors, uint64_t shard_size,
                                size_t num_shards) {
  if (shard_size > 0) return assign_shards(tensors, shard_size);
  if (num_shards <= 1) return std::vector<size_t>(tensors.size(), 0);
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.nbytes;
  auto shard_of =
      assign_shards(tensors, std::max<uint64_t>(1, (total + num_shards - 1) / num_shards));
  for (auto& s : shard_of) s = std::min(s, num_shards - 1);
  return shard_of;
}

class BundleWriter final : public CheckpointWriter {
 public:
  BundleWriter(std::string prefix, WriterOptions options, TfBundleOptions bundle)
      : prefix_(std::move(prefix)), options_(std::move(options)), bundle_(bundle) {
    if (prefix_.empty() || prefix_.back() == '/')
      throw_usage("a TensorFlow checkpoint needs a prefix such as out/model.ckpt, not \"" +
                  prefix_ + "\"");
  }

  void begin(const std::vector<TensorInfo>& tensors) override {
    if (begun_) throw_usage("begin() called twice");
    begun_ = true;
    bool has_object_graph = false;
    for (const auto& t : tensors) has_object_graph |= t.name == kObjectGraphKey;
    // An object graph that comes with the tensors (a TF2 checkpoint being copied) is kept as is.
    generate_graph_ = bundle_.object_based && !has_object_graph;

    std::set<std::string> keys;
    for (const auto& t : tensors) {
      validate(t);
      PendingEntry entry{t.name, t.dtype, t.shape, t.nbytes};
      if (generate_graph_) entry.key = graph_.add(t.name);
      if (!keys.insert(entry.key).second)
        throw Error(ErrorKind::kUsage, "two tensors would be stored under the key " + entry.key, {},
                    t.name);
      entries_.push_back(std::move(entry));
    }
    if (generate_graph_) {
      // tf.train.Checkpoint.restore() creates `save_counter` and assert_consumed() then demands a
      // value for it, so write the counter a first save() would have written.
      add_save_counter_ = !graph_.has_root_child("save_counter");
      if (add_save_counter_ && !keys.insert(graph_.add("save_counter")).second)
        throw_usage("save_counter key collides with a tensor");
      if (!keys.insert(std::string(kObjectGraphKey)).second)
        throw_usage("a tensor is named " + std::string(kObjectGraphKey));
    }

    const auto shard_of = plan_shards(tensors, options_.shard_size, bundle_.num_shards);
    num_shards_ = tensors.empty() ? 1 : *std::max_element(shard_of.begin(), shard_of.end()) + 1;
    for (size_t i = 0; i < entries_.size(); ++i) entries_[i].shard = shard_of[i];
    // What a killed earlier run left under this prefix goes first (core/output.h); then every
    // output is created now, so that a refused or unwritable output fails before any data.
    publication_ = std::make_unique<SideBySidePublication>(
        index_file_name(prefix_),
        [stem = fs::absolute(prefix_).filename().string()](const std::string& name) {
          return prefix_of_data_file(name) == stem;  // PREFIX.data-*-of-* of this prefix
        });
    index_ = std::make_unique<AtomicOutput>(index_file_name(prefix_), AtomicOutput::Kind::kFile,
                                            options_.force);
    for (size_t s = 0; s < num_shards_; ++s) {
      DataShard shard;
      shard.output = std::make_unique<AtomicOutput>(data_file_name(prefix_, s, num_shards_),
                                                    AtomicOutput::Kind::kFile, options_.force);
      shard.file = std::make_unique<DirectOutputFile>(shard.output->staging_path().string());
      shards_.push_back(std::move(shard));
    }
  }

  void write(size_t index, std::span<const std::byte> bytes) override {
    if (!begun_ || committed_) throw_usage("write() outside begin()..commit()");
    if (index != next_)
      throw_usage("tensors must be written in the order they were declared (expected #" +
                  std::to_string(next_) + ", got #" + std::to_string(index) + ")");
    PendingEntry& entry = entries_[index];
    if (bytes.size() != entry.nbytes)
      throw Error(ErrorKind::kUsage,
                  "got " + std::to_string(bytes.size()) + " bytes, declared " +
                      std::to_string(entry.nbytes),
                  {}, entry.key);
    append(entry, bytes);
    ++next_;
  }

  void commit() override {
    if (!begun_) throw_usage("commit() before begin()");
    if (committed_) return;
    if (next_ != entries_.size())
      throw_usage("commit() after " + std::to_string(next_) + " of " +
                  std::to_string(entries_.size()) + " tensors");
    if (generate_graph_) add_generated_tensors();
    for (auto& shard : shards_) shard.file->close();
    write_index();
    // The index is the commit point of the files a bundle spreads over (core/output.h).
    std::vector<fs::path> ours;
    for (const auto& shard : shards_) ours.push_back(shard.output->final_path());
    publication_->publish(
        index_.get(),
        [&] {
          for (auto& shard : shards_) shard.output->commit();
        },
        ours, options_.force);
    committed_ = true;
    if (bundle_.write_state_file) write_state_file();
  }

 private:
  void validate(const TensorInfo& t) const {
    if (t.name.empty()) throw_usage("a tensor has an empty name (the key of the bundle header)");
    if (t.name.find('\0') != std::string::npos)
      throw Error(ErrorKind::kUsage, "tensor name contains a NUL byte", {}, t.name);
    if (dtype_info(t.dtype).tf_datatype == 0)
      throw Error(ErrorKind::kUsage,
                  "TensorFlow has no dtype for " + std::string(dtype_name(t.dtype)), {}, t.name);
    if (t.shape.size() > 254)
      throw Error(ErrorKind::kUsage, "TensorFlow tensors have at most 254 dimensions", {}, t.name);
    const auto count = num_elements(t.shape);
    if (!count || *count > static_cast<uint64_t>(INT64_MAX))
      throw Error(ErrorKind::kUsage, "shape " + shape_to_string(t.shape) + " is too large", {},
                  t.name);
    if (t.dtype == DType::kString) {
      const auto minimum = checked_mul(*count, 8);
      if (!minimum || t.nbytes < *minimum)
        throw Error(ErrorKind::kUsage, "declared size is too small for its string elements", {},
                    t.name);
    } else if (dense_byte_size(t.dtype, t.shape) != t.nbytes) {
      throw Error(ErrorKind::kUsage,
                  "declared " + std::to_string(t.nbytes) + " bytes for " +
                      std::string(dtype_name(t.dtype)) + shape_to_string(t.shape),
                  {}, t.name);
    }
  }

  void append(PendingEntry& entry, std::span<const std::byte> bytes) {
    DirectOutputFile& file = *shards_[entry.shard].file;
    entry.offset = file.position();
    if (entry.dtype == DType::kString) {
      entry.masked_crc =
          encode_string_tensor(bytes, *num_elements(entry.shape),
                               [&](std::span<const std::byte> piece) { file.write(piece); });
    } else {
      // Checksum and write piece by piece, so that a mapped tensor is read once and released.
      uint32_t crc = 0;
      for (size_t done = 0; done < bytes.size(); done += kStreamPiece) {
        const auto piece = bytes.subspan(done, std::min(kStreamPiece, bytes.size() - done));
        crc = crc32c_extend(crc, piece);
        file.write(piece);
      }
      entry.masked_crc = crc32c_mask(crc);
    }
    entry.size = file.position() - entry.offset;
  }

  void add_generated_tensors() {
    if (add_save_counter_) {
      PendingEntry counter{"save_counter" + std::string(kVariableValueSuffix), DType::kI64, {}, 8};
      std::byte one[8];
      store_le(one, int64_t{1});
      append(counter, one);
      entries_.push_back(std::move(counter));
    }
    const std::string graph = graph_.serialize();
    std::vector<std::byte> encoded(8 + graph.size());
    store_le(encoded.data(), uint64_t{graph.size()});
    std::memcpy(encoded.data() + 8, graph.data(), graph.size());
    PendingEntry entry{std::string(kObjectGraphKey), DType::kString, {}, encoded.size()};
    append(entry, encoded);
    entries_.push_back(std::move(entry));
  }

  void write_index() {
    std::vector<const PendingEntry*> sorted;
    for (const auto& e : entries_) sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(),
              [](const PendingEntry* a, const PendingEntry* b) { return a->key < b->key; });
    OutputFile file(index_->staging_path().string());
    TableWriter table(file);
    BundleHeaderProto header;
    header.set_num_shards(static_cast<int32_t>(num_shards_));
    header.mutable_version()->set_producer(kBundleVersion);
    table.add("", header.SerializeAsString());
    for (const PendingEntry* e : sorted) {
      BundleEntryProto proto;
      proto.set_dtype(dtype_info(e->dtype).tf_datatype);
      auto* shape = proto.mutable_shape();  // present even for scalars, as TensorFlow writes it
      for (uint64_t dim : e->shape) shape->add_dim()->set_size(static_cast<int64_t>(dim));
      proto.set_shard_id(static_cast<int32_t>(e->shard));
      proto.set_offset(static_cast<int64_t>(e->offset));
      proto.set_size(static_cast<int64_t>(e->size));
      proto.set_crc32c(e->masked_crc);
      table.add(e->key, proto.SerializeAsString());
    }
    table.finish();
    file.close();
  }

  void write_state_file() {
    const fs::path prefix = fs::absolute(prefix_);
    AtomicOutput output(
        prefix.parent_path() / kStateFileName, AtomicOutput::Kind::kFile,
        /*force=*/true);  // it names the newest checkpoint; TensorFlow rewrites it too
    OutputFile file(output.staging_path().string());
    file.write(checkpoint_state_text(prefix.filename().string()));
    file.close();
    output.commit();
  }

  std::string prefix_;
  WriterOptions options_;
  TfBundleOptions bundle_;
  bool begun_ = false;
  bool committed_ = false;
  bool generate_graph_ = false;
  bool add_save_counter_ = false;
  ObjectGraphBuilder graph_;
  std::vector<PendingEntry> entries_;
  size_t next_ = 0;
  size_t num_shards_ = 1;
  std::unique_ptr<SideBySidePublication> publication_;
  std::unique_ptr<AtomicOutput> index_;
  std::vector<DataShard> shards_;
};

}  // namespace
}  // namespace tf_bundle

std::unique_ptr<CheckpointWriter> create_tf_bundle_writer(const std::string& prefix,
                                                          const WriterOptions& options,
                                                          const TfBundleOptions& bundle) {
  return std::make_unique<tf_bundle::BundleWriter>(prefix, options, bundle);
}

}  // namespace tensorferry
