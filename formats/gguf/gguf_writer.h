// Writing GGUF version 3 as a stream: all metadata and tensor records are known at begin(), so
// the header goes first and each tensor's bytes follow as they arrive, each padded to the
// alignment like gguf-py's writer pads them. The file appears atomically (core/output.h); its
// bytes go to the disk with O_DIRECT (core/direct_output.h).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/output.h"
#include "core/tensor.h"
#include "core/direct_output.h"
#include "formats/gguf/gguf_value.h"

namespace tensorferry {

struct GgufTensorDecl {
  std::string name;
  GgmlType type = GgmlType::kF32;
  Shape shape;  // row-major (the reverse of ggml's ne)
};

class GgufFileWriter {
 public:
  GgufFileWriter(const std::string& path, bool force, uint32_t alignment = kGgufDefaultAlignment);

  // Metadata, in the order it is to appear; before begin().
  void add(std::string key, GgufValue value);
  // Validates names, types and shapes (usage errors) and writes everything before the data.
  void begin(std::vector<GgufTensorDecl> tensors);
  // The stored bytes of tensor `index` (blocks for quantized types), in declaration order.
  void write(size_t index, std::span<const std::byte> bytes);
  // The same in consecutive pieces: the tensor is done (and padded) once its pieces add up to
  // its stored size, so that a converted tensor never has to be held whole.
  void write_part(size_t index, std::span<const std::byte> bytes);
  // The same, filled in place: room in the output for the next bytes of tensor `index` (never
  // empty, at most what the tensor has left), then part_written() with the bytes filled. A cast
  // writes its result straight into the file's buffer instead of into one of its own.
  std::span<std::byte> part_space(size_t index);
  void part_written(size_t index, size_t filled);
  // Finishes the file and publishes it under its final name.
  void commit();

  // Stored bytes of a declared tensor.
  uint64_t stored_bytes(size_t index) const { return sizes_.at(index); }

 private:
  [[noreturn]] void fail(const std::string& message, const std::string& tensor = {}) const;
  // Checks that `bytes` more of tensor `index` may come now (order, declared size).
  void check_part(size_t index, uint64_t bytes) const;
  // Counts `bytes` of tensor `index` written; pads the tensor once it is complete.
  void count_part(uint64_t bytes);
  uint64_t padding(uint64_t n) const { return (alignment_ - n % alignment_) % alignment_; }

  AtomicOutput output_;
  uint32_t alignment_;
  GgufMetadata metadata_;
  std::vector<GgufTensorDecl> tensors_;
  std::vector<uint64_t> sizes_;
  std::unique_ptr<DirectOutputFile> file_;
  size_t written_ = 0;
  uint64_t partial_ = 0;  // bytes of tensor written_ written so far
};

}  // namespace tensorferry
