// A streaming zip writer for stored (uncompressed) entries laid out as torch.save lays them out:
// each payload starts on a 64-byte boundary (padding goes into a "FB" extra field of the local
// header, as PyTorch's writer does), so torch.load(mmap=True) can map storages in place.
//
// Like torch's own writer it puts CRC-32 and sizes into a data descriptor after each payload
// (general-purpose flag bit 3): the payload is summed and written in one pass, and nothing already
// written is rewritten (patching a header in a page under writeback stalled the writer). ZIP64
// fields are used exactly where a size, an offset or the entry count overflows the classic fields.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/direct_output.h"

namespace tensorferry {

class ZipWriter {
 public:
  static constexpr uint64_t kAlignment = 64;

  // `force_zip64` writes ZIP64 extra fields and end records even where they are not needed
  // (tests use it to exercise the ZIP64 paths on small files).
  explicit ZipWriter(DirectOutputFile& out, bool force_zip64 = false)
      : out_(out), force_zip64_(force_zip64) {}

  // Appends one stored entry. Names must be unique (not checked here).
  void add(std::string_view name, std::span<const std::byte> payload);
  void add(std::string_view name, std::string_view text);
  // Writes the central directory and the end records. No entry may be added afterwards.
  void finish();

 private:
  uint32_t write_summing_crc32(std::span<const std::byte> payload);

  struct Entry {
    std::string name;
    uint64_t header_offset;
    uint64_t size;
    uint32_t crc32;
  };
  DirectOutputFile& out_;
  bool force_zip64_;
  bool finished_ = false;
  std::vector<Entry> entries_;
};

}  // namespace tensorferry
