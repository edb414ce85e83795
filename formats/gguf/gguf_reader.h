// Reading GGUF as a checkpoint: tensors in file order under their GGUF names, with the shape
// reversed into row-major order (ggml's ne[0] is the last, contiguous dimension). Dense types are
// zero-copy slices of the mapped file; block-quantized ones (q8_0, q4_0, q4_K, q6_K) are read
// dequantized to f32, or f16 when asked. The metadata stays available, typed, for conventions.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/checkpoint.h"
#include "core/mapped_file.h"
#include "formats/gguf/gguf_header.h"

namespace tensorferry {

class GgufReader final : public CheckpointReader {
 public:
  // `dequantized` is the dtype quantized tensors are read as: f32 (default) or f16.
  explicit GgufReader(const std::string& path, DType dequantized = DType::kF32);

  std::string format() const override { return "gguf"; }
  std::string path() const override { return file_->path(); }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) override;
  void release(size_t index) override;
  // Every metadata entry as text (arrays shortened); header() has the typed values.
  std::map<std::string, std::string> metadata() const override;

  const GgufHeader& header() const { return header_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  GgufHeader header_;
  DType dequantized_;
  std::vector<TensorEntry> entries_;
};

}  // namespace tensorferry
