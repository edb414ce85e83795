// Reading a LevelDB-format table (a TensorFlow bundle's .index file) from a mapped file.
//
// The whole table is walked once, front to back through the index block, and every check
// TensorFlow's reader makes is made up front: footer magic, each block's checksum and compression
// type, each entry's varints and lengths against its block, restart points, strictly increasing
// keys, and index keys that separate their blocks (a lookup by key would miss otherwise).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace tensorferry::tf_bundle {

struct TableEntry {
  std::string key;
  std::span<const std::byte> value;  // into the mapped file
  uint64_t value_offset = 0;         // of the value in the file, for error messages
};

// Every entry of the table in key order. Throws Error(kBadInput) naming the file and the byte
// offset of the first thing that is wrong.
std::vector<TableEntry> read_table(const MappedFile& file);

}  // namespace tensorferry::tf_bundle
