// Reading safetensors: the header is validated completely before any entry is listed, after which
// every tensor is a zero-copy slice of the mapped file.
#include "core/bytes.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/safetensors/header.h"
#include "formats/safetensors/safetensors.h"
#include "formats/sharding.h"

namespace tensorferry {
namespace {

class SafetensorsReader final : public CheckpointReader {
 public:
  explicit SafetensorsReader(const std::string& path) : file_(MappedFile::open(path)) {
    SafetensorsHeader header = parse_safetensors_header(file_->bytes(), path);
    metadata_ = std::move(header.metadata);
    entries_.reserve(header.tensors.size());
    for (auto& t : header.tensors) {
      TensorEntry e;
      e.name = std::move(t.name);
      e.dtype = t.dtype;
      e.shape = std::move(t.shape);
      e.nbytes = t.end - t.begin;
      e.file = path;
      e.offset = header.data_start + t.begin;
      entries_.push_back(std::move(e));
    }
  }

  std::string format() const override { return "safetensors"; }
  std::string path() const override { return file_->path(); }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }

  std::span<const std::byte> read(size_t index, std::vector<std::byte>& /*scratch*/) override {
    const TensorEntry& e = entries_.at(index);
    return file_->slice(e.offset, e.nbytes, "tensor data", e.name);
  }

  bool stream(size_t index, const PieceConsumer& consume,
              std::vector<std::byte>& /*scratch*/) override {
    const TensorEntry& e = entries_.at(index);
    return file_->stream(e.offset, e.nbytes, "tensor data", e.name, consume);
  }

  void release(size_t index) override {
    const TensorEntry& e = entries_.at(index);
    file_->release(e.offset, e.nbytes);
  }

  std::map<std::string, std::string> metadata() const override { return metadata_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::vector<TensorEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

bool is_index_file(const std::string& path) {
  constexpr std::string_view kSuffix = ".index.json";
  return path.size() >= kSuffix.size() &&
         path.compare(path.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

}  // namespace

bool looks_like_safetensors(std::span<const std::byte> first_bytes, uint64_t file_size) {
  if (first_bytes.size() < 9 || file_size < 10) return false;
  const uint64_t json_size = load_le<uint64_t>(first_bytes.data());
  if (json_size < 2 || json_size > kSafetensorsMaxHeaderSize || json_size > file_size - 8)
    return false;
  // The JSON must open with '{'; the reference reader lets whitespace come first.
  for (size_t i = 8; i < first_bytes.size() && i < 8 + json_size; ++i) {
    const auto c = static_cast<char>(first_bytes[i]);
    if (c == '{') return true;
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return false;
}

std::unique_ptr<CheckpointReader> open_safetensors(const std::string& path) {
  if (is_index_file(path))
    return open_sharded(
        path, [](const std::string& shard) { return std::make_unique<SafetensorsReader>(shard); });
  return std::make_unique<SafetensorsReader>(path);
}

}  // namespace tensorferry
