// Writing a LevelDB-format table the way TensorFlow's TableBuilder does for a bundle index:
// uncompressed blocks of about 256 KiB, a restart point every 16 keys in data blocks and at every
// key in the index block, shortened index keys, an empty metaindex block, the 48-byte footer.
// Given the same entries, the output is byte-identical to TensorFlow's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/output.h"
#include "formats/tf_bundle/table_format.h"

namespace tensorferry::tf_bundle {

struct TableWriterOptions {
  size_t block_size = size_t{256} * 1024;  // TensorFlow's table::Options default
  int block_restart_interval = 16;         // for data blocks; the index block always uses 1
};

// Builds one block in memory: prefix-compressed entries, then the restart array.
class BlockBuilder {
 public:
  explicit BlockBuilder(int restart_interval) : restart_interval_(restart_interval) { reset(); }
  void reset();
  void add(std::string_view key, std::string_view value);
  // Appends the restart array and returns the finished block (valid until reset()).
  std::string_view finish();
  // What the block would take if finished now.
  size_t size_estimate() const { return buffer_.size() + 4 * restarts_.size() + 4; }
  bool empty() const { return buffer_.empty(); }

 private:
  int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  int counter_ = 0;
  std::string last_key_;
};

class TableWriter {
 public:
  // Writes into `out` from its current position, which must be the start of the file.
  explicit TableWriter(OutputFile& out, TableWriterOptions options = {});

  // Keys must arrive in strictly increasing bytewise order.
  void add(std::string_view key, std::string_view value);
  // Writes the last data block, the metaindex and index blocks and the footer.
  void finish();

 private:
  void flush();
  BlockHandle write_block(BlockBuilder& block);

  OutputFile& out_;
  TableWriterOptions options_;
  BlockBuilder data_block_;
  BlockBuilder index_block_;
  std::string last_key_;
  uint64_t num_entries_ = 0;
  // The index entry of a flushed block waits for the next key, so that its separator can be short.
  bool pending_index_entry_ = false;
  BlockHandle pending_handle_;
  bool finished_ = false;
};

}  // namespace tensorferry::tf_bundle
