// The two interfaces every container format implements. Formats know nothing about models: a
// reader lists tensors and hands out their bytes; a writer takes tensors one at a time and makes
// the whole output appear at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/direct_input.h"
#include "core/tensor.h"

namespace tensorferry {

class CheckpointReader {
 public:
  virtual ~CheckpointReader() = default;

  // Short name of the container: "safetensors", "pytorch", "tf-bundle", "keras-h5".
  virtual std::string format() const = 0;
  // The path the reader was opened with (a file, a bundle prefix, or an index file).
  virtual std::string path() const = 0;
  // Every tensor, in the order the file lists them. Building this list reads no tensor data.
  virtual const std::vector<TensorEntry>& tensors() const = 0;

  // The bytes of tensors()[index], dense, row-major, little-endian (see TensorInfo::nbytes for
  // strings). Returns a view into the mapped file when the stored bytes are already in that form,
  // otherwise fills `scratch` and returns a view of it. The view is valid until the next read()
  // with the same scratch. Verifies checksums where the format has them.
  virtual std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) = 0;

  // The same bytes as read(), handed to `consume` in order, in pieces of at most kStreamPiece
  // bytes (core/mapped_file.h), each valid only during its call, for a consumer that looks at
  // each byte once. Readers whose stored bytes are the dense form stream them from the file,
  // around the page cache where it does not hold them (MappedFile::stream); the others read()
  // and cut. A checksum is checked over the pieces and a mismatch throws after the last one, as
  // read() would: a consumer must not act on what it saw before stream() returns. Returns false
  // when the consumer stopped (the checksum then goes unchecked). Releases the tensor.
  virtual bool stream(size_t index, const PieceConsumer& consume, std::vector<std::byte>& scratch);

  // Tells the reader tensors()[index] will not be read again, so its pages can be dropped.
  virtual void release(size_t /*index*/) {}

  // Free-form string metadata of the container (safetensors __metadata__, ...).
  virtual std::map<std::string, std::string> metadata() const { return {}; }
};

struct WriterOptions {
  bool force = false;       // replace an existing output
  uint64_t shard_size = 0;  // bytes per shard; 0 = one file
  std::map<std::string, std::string> metadata;
};

class CheckpointWriter {
 public:
  virtual ~CheckpointWriter() = default;  // discards everything unless commit() ran

  // Declares every tensor before any data: containers with a header need all names and sizes up
  // front. Validates names, dtypes and shapes against what the format can express.
  virtual void begin(const std::vector<TensorInfo>& tensors) = 0;
  // The bytes of the index-th declared tensor. Tensors arrive in declaration order.
  virtual void write(size_t index, std::span<const std::byte> bytes) = 0;
  // Writes out and syncs every file without publishing anything, so that a failure that surfaces
  // late (a full disk reported by the writer thread, core/direct_output.h) comes before a sharded
  // output publishes its first shard. commit() calls it when it has not run.
  virtual void finish() {}
  // Finishes every file and publishes the output under its final name atomically.
  virtual void commit() = 0;
};

}  // namespace tensorferry
