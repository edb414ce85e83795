// Writing safetensors as a stream: begin() knows every tensor, so the whole header (offsets
// included) is written first and each tensor's bytes are appended as they arrive. Tensors are
// stored in declaration order; the reference writer sorts by alignment instead, but its reader
// and safetensors.torch accept any order (checked in tests/python/torch/test_safetensors.py).
#include <memory>
#include <set>

#include "core/bytes.h"
#include "core/direct_output.h"
#include "core/error.h"
#include "core/output.h"
#include "formats/safetensors/header.h"
#include "formats/safetensors/safetensors.h"
#include "formats/sharding.h"

namespace tensorferry {
namespace {

class SafetensorsWriter final : public CheckpointWriter {
 public:
  SafetensorsWriter(const std::string& path, const WriterOptions& options)
      : output_(path, AtomicOutput::Kind::kFile, options.force), metadata_(options.metadata) {}

  void begin(const std::vector<TensorInfo>& tensors) override {
    if (file_) fail("begin() called twice");
    std::set<std::string_view> names;
    uint64_t total = 0;
    for (const auto& t : tensors) {
      check_storable(t);
      if (!names.insert(t.name).second) fail("two tensors have this name", t.name);
      const auto sum = checked_add(total, t.nbytes);
      if (!sum) fail("the tensors add up to more than 2^64 bytes", t.name);
      total = *sum;
    }
    // The format is a PyTorch convention: transformers only loads files that say so.
    std::vector<std::pair<std::string, std::string>> metadata = {{"format", "pt"}};
    for (const auto& [key, value] : metadata_) {
      if (key == "format")
        metadata.front().second = value;
      else
        metadata.emplace_back(key, value);
    }
    std::string json;
    try {
      json = encode_safetensors_header(tensors, metadata);
    } catch (const Error& e) {
      throw e.with_context(output_.final_path().string());
    }
    if (json.size() > kSafetensorsMaxHeaderSize)
      fail("the header would be " + std::to_string(json.size()) +
           " bytes, more than safetensors readers accept (" +
           std::to_string(kSafetensorsMaxHeaderSize) + "); shard the output");
    sizes_.reserve(tensors.size());
    for (const auto& t : tensors) sizes_.push_back({t.name, t.nbytes});
    file_ = std::make_unique<DirectOutputFile>(output_.staging_path().string());
    std::byte length[8];
    store_le<uint64_t>(length, json.size());
    file_->write(std::span<const std::byte>(length, 8));
    file_->write(std::as_bytes(std::span(json.data(), json.size())));
  }

  void write(size_t index, std::span<const std::byte> bytes) override {
    if (!file_) fail("write() before begin()");
    if (index >= sizes_.size())
      fail("write() of tensor #" + std::to_string(index) + " but only " +
           std::to_string(sizes_.size()) + " were declared");
    const auto& [name, nbytes] = sizes_[index];
    if (index != written_)
      fail("tensors must be written in declaration order: expected tensor #" +
               std::to_string(written_) + ", got #" + std::to_string(index),
           name);
    if (bytes.size() != nbytes)
      fail("got " + std::to_string(bytes.size()) + " bytes, declared " + std::to_string(nbytes),
           name);
    file_->write(bytes);
    ++written_;
  }

  void finish() override {
    if (!file_) fail("finish() before begin()");
    if (finished_) return;
    if (written_ != sizes_.size())
      fail("commit() after " + std::to_string(written_) + " of " + std::to_string(sizes_.size()) +
           " tensors");
    file_->close();
    finished_ = true;
  }

  void commit() override {
    finish();
    output_.commit();
  }

 private:
  [[noreturn]] void fail(const std::string& message, const std::string& tensor = {}) const {
    throw Error(ErrorKind::kUsage, "safetensors writer: " + message, output_.final_path().string(),
                tensor);
  }

  // What safetensors can express: a dtype with a safetensors name, a size that matches the
  // shape, and a name that does not collide with the metadata key.
  void check_storable(const TensorInfo& t) const {
    if (dtype_info(t.dtype).safetensors.empty())
      fail("safetensors has no dtype for " + std::string(dtype_name(t.dtype)) + " tensors", t.name);
    const auto nbytes = dense_byte_size(t.dtype, t.shape);
    if (!nbytes || *nbytes != t.nbytes)
      fail("declared " + std::to_string(t.nbytes) + " bytes, but " +
               std::string(dtype_name(t.dtype)) + " " + shape_to_string(t.shape) + " is " +
               (nbytes ? std::to_string(*nbytes) + " bytes" : "too large"),
           t.name);
    if (t.name == "__metadata__")
      fail("\"__metadata__\" is reserved for the header's metadata", t.name);
  }

  AtomicOutput output_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::pair<std::string, uint64_t>> sizes_;  // name and byte count, per tensor
  std::unique_ptr<DirectOutputFile> file_;               // closed before output_ is removed
  size_t written_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<CheckpointWriter> create_safetensors_writer(const std::string& path,
                                                            const WriterOptions& options) {
  return create_sharded_writer(path, options,
                               [](const std::string& shard, const WriterOptions& shard_options) {
                                 return std::make_unique<SafetensorsWriter>(shard, shard_options);
                               });
}

}  // namespace tensorferry
