// Writing one torch.save-compatible zip file. Record order: data.pkl and byteorder first (the
// pickle needs only names, dtypes and shapes, all known at begin()), then one record per tensor
// as its bytes arrive, then version, then the central directory. torch.load finds records through
// the central directory, so the order is free; data.pkl first matches what torch itself writes.
#include "formats/torch/torch_writer.h"

#include <cctype>
#include <filesystem>
#include <set>

#include "core/direct_output.h"
#include "core/error.h"
#include "core/output.h"
#include "formats/torch/pickle_value.h"
#include "formats/torch/pickle_writer.h"
#include "formats/torch/zip_writer.h"

namespace tensorferry {
namespace {

// torch names the folder inside the zip after the file ("model.pt" -> "model/"); any name works
// for torch.load, so names with unusual characters fall back to torch's name for buffers.
std::string archive_name(const std::string& path) {
  std::string stem = std::filesystem::path(path).stem().string();
  if (stem.empty() || stem.size() > 200) return "archive";
  for (char c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return "archive";
  return stem;
}

class TorchFileWriter final : public CheckpointWriter {
 public:
  TorchFileWriter(const std::string& path, const TorchWriterOptions& options)
      : output_(path, AtomicOutput::Kind::kFile, options.force),
        prefix_(archive_name(path) + "/"),
        force_zip64_(options.force_zip64) {}

  void begin(const std::vector<TensorInfo>& tensors) override {
    if (zip_) throw_usage("torch writer: begin() called twice");
    std::set<std::string> names;
    std::vector<PickledTensor> pickled;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const TensorInfo& t = tensors[i];
      if (!torch_can_store(t.dtype))
        throw Error(ErrorKind::kUsage,
                    "PyTorch has no " + std::string(dtype_name(t.dtype)) +
                        " tensors; convert to another format",
                    output_.final_path().string(), t.name);
      if (dense_byte_size(t.dtype, t.shape) != t.nbytes)
        throw Error(ErrorKind::kUsage, "byte size does not match dtype and shape",
                    output_.final_path().string(), t.name);
      if (!is_valid_utf8(t.name))
        throw Error(ErrorKind::kUsage, "tensor name is not valid UTF-8",
                    output_.final_path().string(), t.name);
      if (!names.insert(t.name).second)
        throw Error(ErrorKind::kUsage, "two tensors have this name", output_.final_path().string(),
                    t.name);
      pickled.push_back({t.name, t.dtype, t.shape, std::to_string(i)});
    }
    sizes_.reserve(tensors.size());
    for (const auto& t : tensors) sizes_.push_back(t.nbytes);
    out_ = std::make_unique<DirectOutputFile>(output_.staging_path().string());
    zip_ = std::make_unique<ZipWriter>(*out_, force_zip64_);
    zip_->add(prefix_ + "data.pkl", pickle_state_dict(pickled));
    zip_->add(prefix_ + "byteorder", "little");
  }

  void write(size_t index, std::span<const std::byte> bytes) override {
    if (!zip_) throw_usage("torch writer: write() before begin()");
    if (index != written_)
      throw_usage("torch writer: tensor " + std::to_string(index) + " written out of order");
    if (bytes.size() != sizes_.at(index))
      throw_usage("torch writer: tensor " + std::to_string(index) + " has " +
                  std::to_string(bytes.size()) + " bytes, declared " +
                  std::to_string(sizes_[index]));
    zip_->add(prefix_ + "data/" + std::to_string(index), bytes);
    ++written_;
  }

  void finish() override {
    if (!zip_) throw_usage("torch writer: finish() before begin()");
    if (finished_) return;
    if (written_ != sizes_.size())
      throw_usage("torch writer: only " + std::to_string(written_) + " of " +
                  std::to_string(sizes_.size()) + " tensors were written");
    // torch.load requires this record; 3 is what torch.save writes (kMinProducedFileFormatVersion).
    zip_->add(prefix_ + "version", "3\n");
    zip_->finish();
    out_->close();
    finished_ = true;
  }

  void commit() override {
    finish();
    output_.commit();
  }

 private:
  AtomicOutput output_;
  std::string prefix_;
  bool force_zip64_;
  bool finished_ = false;
  std::unique_ptr<DirectOutputFile> out_;
  std::unique_ptr<ZipWriter> zip_;
  std::vector<uint64_t> sizes_;
  size_t written_ = 0;
};

}  // namespace

std::unique_ptr<CheckpointWriter> create_torch_file_writer(const std::string& path,
                                                           const TorchWriterOptions& options) {
  return std::make_unique<TorchFileWriter>(path, options);
}

}  // namespace tensorferry
