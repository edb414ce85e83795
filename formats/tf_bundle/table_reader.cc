#include "formats/tf_bundle/table_reader.h"

#include "core/bytes.h"
#include "core/error.h"
#include "formats/tf_bundle/table_format.h"
#include "formats/tf_bundle/varint.h"

namespace tensorferry::tf_bundle {
namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// The previous key seen, to check that keys strictly increase.
struct KeyOrder {
  std::string last;
  bool any = false;
};

class TableParser {
 public:
  explicit TableParser(const MappedFile& file) : file_(file) {}

  std::vector<TableEntry> parse() {
    if (file_.size() < kFooterSize)
      bad(0, "file is " + std::to_string(file_.size()) +
                 " bytes, too short for a table footer (48 bytes); truncated index?");
    const uint64_t footer_offset = file_.size() - kFooterSize;
    const auto footer = file_.slice(footer_offset, kFooterSize, "table footer");
    const uint64_t magic = load_le<uint64_t>(footer.data() + 40);
    if (magic != kTableMagic)
      bad(footer_offset + 40,
          "bad table magic number (not a TensorFlow .index file, or truncated)");
    auto handles = footer.first(2 * kMaxHandleSize);
    const auto metaindex = decode_block_handle(handles);
    const auto index = metaindex ? decode_block_handle(handles) : std::nullopt;
    if (!metaindex || !index) bad(footer_offset, "malformed block handle in the table footer");
    blocks_end_ = footer_offset;
    // The metaindex block is never read by TensorFlow; only check that it lies inside the file.
    block_contents(*metaindex, "metaindex block");

    const auto index_block = block_contents(*index, "index block");
    std::vector<TableEntry> index_entries;
    KeyOrder index_order;
    parse_block(index_block, index->offset, "index block", index_order, index_entries);

    std::vector<TableEntry> entries;
    KeyOrder data_order;
    for (size_t i = 0; i < index_entries.size(); ++i) {
      const auto& index_entry = index_entries[i];
      auto value = index_entry.value;
      const auto handle = decode_block_handle(value);
      if (!handle || !value.empty())
        bad(index_entry.value_offset, "malformed block handle in the index block");
      const size_t first = entries.size();
      parse_block(block_contents(*handle, "data block"), handle->offset, "data block", data_order,
                  entries);
      if (entries.size() == first) continue;
      // A lookup seeks the first index key >= the wanted key, so each index key must be >= every
      // key of its block and < every key of the next one.
      if (entries.back().key > index_entry.key)
        bad(index_entry.value_offset,
            "index key is smaller than the last key of its data block (corrupt index)");
      if (i > 0 && entries[first].key <= index_entries[i - 1].key)
        bad(handle->offset, "data block starts with a key not above the previous index key");
    }
    return entries;
  }

 private:
  [[noreturn]] void bad(uint64_t offset, const std::string& message) const {
    throw_bad_input(file_.path(), offset, message);
  }

  std::span<const std::byte> block_contents(const BlockHandle& handle, const char* what) {
    const auto end = checked_add(handle.offset, handle.size);
    const auto end_with_trailer = end ? checked_add(*end, kBlockTrailerSize) : std::nullopt;
    if (!end_with_trailer || *end_with_trailer > blocks_end_)
      bad(handle.offset, std::string(what) + " of " + std::to_string(handle.size) +
                             " bytes does not fit before the footer (truncated or corrupt index)");
    const auto contents = file_.slice(handle.offset, handle.size, what);
    const auto trailer = file_.slice(*end, kBlockTrailerSize, what);
    const auto type = static_cast<uint8_t>(trailer[0]);
    const uint32_t stored = load_le<uint32_t>(trailer.data() + 1);
    const uint32_t actual = block_checksum(contents, type);
    if (stored != actual)
      bad(handle.offset, std::string(what) + " checksum mismatch (stored " + hex32(stored) +
                             ", computed " + hex32(actual) + ")");
    if (type == kSnappyCompression)
      bad(handle.offset, std::string(what) +
                             " is Snappy-compressed; TensorFlow has not written compressed "
                             "checkpoint indexes since 1.1 and tensorferry does not read them");
    if (type != kNoCompression)
      bad(*end, std::string(what) + " has unknown compression type " + std::to_string(type));
    return contents;
  }

  // Appends the entries of one block. Layout: entries, then fixed32 restart offsets, then their
  // count. Each entry is varint32 shared, varint32 unshared, varint32 value length, the key bytes
  // not shared with the previous key, the value.
  void parse_block(std::span<const std::byte> block, uint64_t block_offset, const char* what,
                   KeyOrder& order, std::vector<TableEntry>& out) {
    if (block.size() < 4) bad(block_offset, std::string(what) + " is shorter than 4 bytes");
    const uint32_t num_restarts = load_le<uint32_t>(block.data() + block.size() - 4);
    if (num_restarts > (block.size() - 4) / 4)
      bad(block_offset + block.size() - 4, std::string(what) + " claims " +
                                               std::to_string(num_restarts) +
                                               " restart points, more than fit in it");
    const size_t entries_end = block.size() - 4 - 4 * size_t{num_restarts};
    // LevelDB reads a block without restarts or without entries as empty, whatever else it holds.
    if (num_restarts == 0 || entries_end == 0) return;
    const std::byte* restarts = block.data() + entries_end;
    size_t next_restart = 0;  // index into the restart array

    std::string key;
    bool first_in_block = true;
    size_t pos = 0;
    while (pos < entries_end) {
      const uint64_t entry_offset = block_offset + pos;
      // Each restart point must be an entry boundary whose key is stored whole.
      bool at_restart = false;
      if (next_restart < num_restarts && load_le<uint32_t>(restarts + 4 * next_restart) == pos) {
        at_restart = true;
        ++next_restart;
      } else if (first_in_block) {
        bad(entry_offset, std::string(what) + " does not have its first entry as a restart point");
      }
      auto in = block.subspan(pos, entries_end - pos);
      const auto shared = get_varint32(in);
      const auto unshared = shared ? get_varint32(in) : std::nullopt;
      const auto value_length = unshared ? get_varint32(in) : std::nullopt;
      if (!value_length) bad(entry_offset, std::string("malformed entry in ") + what);
      if (*shared > key.size() || (at_restart && *shared != 0))
        bad(entry_offset, std::string("entry in ") + what + " shares " + std::to_string(*shared) +
                              " key bytes with a previous key it cannot share them with");
      if (uint64_t{*unshared} + *value_length > in.size())
        bad(entry_offset, std::string("entry in ") + what + " runs past the end of its block");
      key.resize(*shared);
      key.append(as_chars(in.first(*unshared)));
      const auto value = in.subspan(*unshared, *value_length);
      const uint64_t value_offset =
          block_offset + static_cast<uint64_t>(value.data() - block.data());
      if (order.any && !(key > order.last))
        bad(entry_offset, std::string("keys are not in strictly increasing order in ") + what);
      out.push_back({key, value, value_offset});
      order.last = key;
      order.any = true;
      pos = static_cast<size_t>(value.data() + value.size() - block.data());
      first_in_block = false;
    }
    if (next_restart != num_restarts)
      bad(block_offset + entries_end,
          std::string(what) + " has a restart point that is not at an entry boundary");
  }

  const MappedFile& file_;
  uint64_t blocks_end_ = 0;
};

}  // namespace

std::vector<TableEntry> read_table(const MappedFile& file) { return TableParser(file).parse(); }

}  // namespace tensorferry::tf_bundle
