// The directory of a zip archive as torch.save writes it (entries stored, not compressed), read
// without trusting any field.
//
// The central directory is the truth (data descriptors make local sizes unreliable), but every
// entry's local header is read too and must agree with it: same name, same method, and the same
// sizes and CRC unless the entry uses a data descriptor, in which case the descriptor must agree.
// Entries must lie inside the file, before the central directory, and must not overlap each other,
// so no byte can belong to two records. ZIP64 end records and extra fields are understood;
// multi-disk archives and encryption are refused. Compressed entries are listed (so that callers
// can recognise archives that are not theirs, such as TorchScript's) but their bytes cannot be
// read through this interface.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace tensorferry {

struct ZipEntry {
  std::string name;
  uint64_t header_offset = 0;  // of the local file header
  uint64_t data_offset = 0;    // of the first payload byte
  uint64_t size = 0;           // bytes of the payload (compressed size for compressed entries)
  uint32_t crc32 = 0;
  uint16_t method = 0;  // 0 = stored; anything else is compressed
};

class ZipDirectory {
 public:
  // Throws Error(kBadInput) naming the file and the offset of the first inconsistency.
  static ZipDirectory read(const MappedFile& file);

  // In central-directory order.
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;

 private:
  std::vector<ZipEntry> entries_;
  std::map<std::string, size_t> by_name_;
};

// Throws Error(kBadInput) unless `entry` is stored (its payload is the record's bytes).
void require_stored(const MappedFile& file, const ZipEntry& entry);
// Checks the payload of a stored `entry` against its CRC-32; throws Error(kBadInput) on a
// mismatch.
void verify_zip_crc(const MappedFile& file, const ZipEntry& entry);

}  // namespace tensorferry
