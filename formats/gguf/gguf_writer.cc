#include "formats/gguf/gguf_writer.h"

#include <set>

#include "core/bytes.h"
#include "core/error.h"
#include "formats/gguf/gguf.h"

namespace tensorferry {

GgufFileWriter::GgufFileWriter(const std::string& path, bool force, uint32_t alignment)
    : output_(path, AtomicOutput::Kind::kFile, force), alignment_(alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0)
    fail("alignment " + std::to_string(alignment) + " is not a power of two");
  // gguf-py writes the key only when it differs from the default; so do we.
  if (alignment != kGgufDefaultAlignment) add("general.alignment", GgufValue::of_u32(alignment));
}

void GgufFileWriter::fail(const std::string& message, const std::string& tensor) const {
  throw Error(ErrorKind::kUsage, "GGUF writer: " + message, output_.final_path().string(), tensor);
}

void GgufFileWriter::add(std::string key, GgufValue value) {
  if (file_) fail("metadata added after begin()");
  if (find_value(metadata_, key)) fail("metadata key " + key + " added twice");
  metadata_.emplace_back(std::move(key), std::move(value));
}

void GgufFileWriter::begin(std::vector<GgufTensorDecl> tensors) {
  if (file_) fail("begin() called twice");
  std::set<std::string_view> names;
  std::string header;
  auto append_u32 = [&](uint32_t v) { header.append(reinterpret_cast<const char*>(&v), 4); };
  auto append_u64 = [&](uint64_t v) { header.append(reinterpret_cast<const char*>(&v), 8); };
  append_u32(kGgufMagic);
  append_u32(kGgufVersion);
  append_u64(tensors.size());
  append_u64(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    append_gguf_string(header, key);
    append_gguf_value(header, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (!names.insert(t.name).second) fail("two tensors have this name", t.name);
    if (t.name.size() > kGgmlMaxNameBytes)
      fail("the name is longer than ggml's " + std::to_string(kGgmlMaxNameBytes) + " bytes",
           t.name);
    if (t.shape.size() > kGgmlMaxDims)
      fail(std::to_string(t.shape.size()) + " dimensions; ggml allows " +
               std::to_string(kGgmlMaxDims),
           t.name);
    const auto elements = num_elements(t.shape);
    const uint64_t row = t.shape.empty() ? 1 : t.shape.back();
    const auto nbytes = elements ? ggml_byte_size(t.type, row, *elements) : std::nullopt;
    if (!nbytes)
      fail(shape_to_string(t.shape) + " cannot be stored as " +
               std::string(ggml_type_info(t.type).name) + " (rows must be whole blocks)",
           t.name);
    append_gguf_string(header, t.name);
    append_u32(static_cast<uint32_t>(t.shape.size()));
    for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) append_u64(*d);
    append_u32(static_cast<uint32_t>(t.type));
    append_u64(offset);
    sizes_.push_back(*nbytes);
    offset += *nbytes + padding(*nbytes);
  }
  header.append(padding(header.size()), '\0');
  tensors_ = std::move(tensors);
  file_ = std::make_unique<DirectOutputFile>(output_.staging_path().string());
  file_->write(std::as_bytes(std::span(header.data(), header.size())));
}

void GgufFileWriter::write(size_t index, std::span<const std::byte> bytes) {
  if (!file_) fail("write() before begin()");
  if (index < sizes_.size() && (partial_ != 0 || bytes.size() != sizes_[index]))
    fail(
        "got " + std::to_string(bytes.size()) + " bytes, declared " + std::to_string(sizes_[index]),
        tensors_[index].name);
  write_part(index, bytes);
}

void GgufFileWriter::check_part(size_t index, uint64_t bytes) const {
  if (!file_) fail("write() before begin()");
  if (index != written_ || index >= tensors_.size())
    fail("tensors must be written in declaration order: expected #" + std::to_string(written_) +
         ", got #" + std::to_string(index));
  if (bytes > sizes_[index] - partial_)
    fail("got " + std::to_string(partial_ + bytes) + " bytes, declared " +
             std::to_string(sizes_[index]),
         tensors_[index].name);
}

void GgufFileWriter::count_part(uint64_t bytes) {
  partial_ += bytes;
  if (partial_ < sizes_[written_]) return;
  file_->write_zeros(padding(partial_));
  partial_ = 0;
  ++written_;
}

void GgufFileWriter::write_part(size_t index, std::span<const std::byte> bytes) {
  check_part(index, bytes.size());
  file_->write(bytes);
  count_part(bytes.size());
}

std::span<std::byte> GgufFileWriter::part_space(size_t index) {
  check_part(index, 1);
  const auto room = file_->space();
  return room.first(std::min<uint64_t>(room.size(), sizes_[index] - partial_));
}

void GgufFileWriter::part_written(size_t index, size_t filled) {
  check_part(index, filled);
  file_->advance(filled);
  count_part(filled);
}

void GgufFileWriter::commit() {
  if (!file_) fail("commit() before begin()");
  if (written_ != tensors_.size())
    fail("commit() after " + std::to_string(written_) + " of " + std::to_string(tensors_.size()) +
         " tensors");
  file_->close();
  output_.commit();
}

namespace {

// Container conversion into GGUF: names as they are, dense types only.
class GgufCheckpointWriter final : public CheckpointWriter {
 public:
  GgufCheckpointWriter(const std::string& path, const WriterOptions& options)
      : writer_(path, options.force) {
    if (options.shard_size != 0) throw_usage("GGUF output cannot be sharded by tensorferry");
    for (const auto& [key, value] : options.metadata) writer_.add(key, GgufValue::of_string(value));
  }

  void begin(const std::vector<TensorInfo>& tensors) override {
    std::vector<GgufTensorDecl> decls;
    decls.reserve(tensors.size());
    for (const auto& t : tensors) {
      const auto type = ggml_type_from_dtype(t.dtype);
      if (!type)
        throw Error(ErrorKind::kUsage,
                    "GGUF has no type for " + std::string(dtype_name(t.dtype)) + " tensors", "",
                    t.name);
      decls.push_back({t.name, *type, t.shape});
    }
    writer_.begin(std::move(decls));
  }

  void write(size_t index, std::span<const std::byte> bytes) override {
    writer_.write(index, bytes);
  }

  void commit() override { writer_.commit(); }

 private:
  GgufFileWriter writer_;
};

}  // namespace

std::unique_ptr<CheckpointWriter> create_gguf_writer(const std::string& path,
                                                     const WriterOptions& options) {
  return std::make_unique<GgufCheckpointWriter>(path, options);
}

}  // namespace tensorferry
