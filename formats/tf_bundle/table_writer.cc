#include "formats/tf_bundle/table_writer.h"

#include "core/bytes.h"
#include "core/error.h"
#include "formats/tf_bundle/varint.h"

namespace tensorferry::tf_bundle {

void BlockBuilder::reset() {
  buffer_.clear();
  restarts_.assign(1, 0);  // the first entry is always a restart point
  counter_ = 0;
  last_key_.clear();
}

void BlockBuilder::add(std::string_view key, std::string_view value) {
  size_t shared = 0;
  if (counter_ < restart_interval_) {
    const size_t limit = std::min(last_key_.size(), key.size());
    while (shared < limit && last_key_[shared] == key[shared]) ++shared;
  } else {
    restarts_.push_back(static_cast<uint32_t>(buffer_.size()));
    counter_ = 0;
  }
  put_varint64(buffer_, shared);
  put_varint64(buffer_, key.size() - shared);
  put_varint64(buffer_, value.size());
  buffer_.append(key.substr(shared));
  buffer_.append(value);
  last_key_.assign(key);
  ++counter_;
}

std::string_view BlockBuilder::finish() {
  for (uint32_t r : restarts_) put_fixed32(buffer_, r);
  put_fixed32(buffer_, static_cast<uint32_t>(restarts_.size()));
  return buffer_;
}

TableWriter::TableWriter(OutputFile& out, TableWriterOptions options)
    : out_(out), options_(options), data_block_(options.block_restart_interval), index_block_(1) {
  if (out_.position() != 0)
    throw Error(ErrorKind::kUsage, "a table must start at the beginning of its file", out_.path());
}

void TableWriter::add(std::string_view key, std::string_view value) {
  if (finished_) throw Error(ErrorKind::kUsage, "table already finished", out_.path());
  if (num_entries_ > 0) {
    if (!(key > std::string_view(last_key_)))
      throw Error(ErrorKind::kUsage, "table keys must be added in strictly increasing order",
                  out_.path(), std::string(key));
    // An entry at least twice the block size gets a block of its own (as TensorFlow does).
    if (key.size() + value.size() >= 2 * options_.block_size) flush();
  }
  if (pending_index_entry_) {
    shorten_separator(last_key_, key);
    std::string handle;
    encode_block_handle(handle, pending_handle_);
    index_block_.add(last_key_, handle);
    pending_index_entry_ = false;
  }
  last_key_.assign(key);
  ++num_entries_;
  data_block_.add(key, value);
  if (data_block_.size_estimate() >= options_.block_size) flush();
}

void TableWriter::flush() {
  if (data_block_.empty()) return;
  pending_handle_ = write_block(data_block_);
  pending_index_entry_ = true;
}

BlockHandle TableWriter::write_block(BlockBuilder& block) {
  const std::string_view contents = block.finish();
  const BlockHandle handle{out_.position(), contents.size()};
  out_.write(contents);
  std::byte trailer[kBlockTrailerSize];
  trailer[0] = std::byte{kNoCompression};
  store_le(trailer + 1, block_checksum(as_bytes(contents), kNoCompression));
  out_.write(std::span<const std::byte>(trailer, kBlockTrailerSize));
  block.reset();
  return handle;
}

void TableWriter::finish() {
  if (finished_) return;
  flush();
  finished_ = true;
  BlockBuilder metaindex(options_.block_restart_interval);
  const BlockHandle metaindex_handle = write_block(metaindex);
  if (pending_index_entry_) {
    shorten_successor(last_key_);
    std::string handle;
    encode_block_handle(handle, pending_handle_);
    index_block_.add(last_key_, handle);
    pending_index_entry_ = false;
  }
  const BlockHandle index_handle = write_block(index_block_);
  std::string footer;
  encode_block_handle(footer, metaindex_handle);
  encode_block_handle(footer, index_handle);
  footer.resize(2 * kMaxHandleSize, '\0');
  put_fixed32(footer, static_cast<uint32_t>(kTableMagic));
  put_fixed32(footer, static_cast<uint32_t>(kTableMagic >> 32));
  out_.write(footer);
}

}  // namespace tensorferry::tf_bundle
