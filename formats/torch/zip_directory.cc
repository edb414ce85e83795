#include "formats/torch/zip_directory.h"

#include <algorithm>

#include "core/bytes.h"
#include "core/crc.h"
#include "core/error.h"

namespace tensorferry {
namespace {

// Signatures and fixed sizes from PKWARE's APPNOTE.TXT (6.3.x).
constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kDescriptorSig = 0x08074b50;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kFlagEncrypted = 1 << 0;
constexpr uint16_t kFlagDataDescriptor = 1 << 3;
constexpr uint16_t kFlagStrongEncryption = 1 << 6;
constexpr uint16_t kFlagMaskedDirectory = 1 << 13;
constexpr uint32_t kMax32 = 0xffffffffu;
constexpr uint16_t kMax16 = 0xffffu;
// More entries than any torch file has (one per storage); refused before anything is reserved.
constexpr uint64_t kMaxEntries = 1u << 22;

class Cursor {
 public:
  // A fixed-size record at `offset`, which must lie inside the file.
  Cursor(const MappedFile& file, uint64_t offset, uint64_t length, std::string_view what)
      : bytes_(file.slice(offset, length, what)) {}
  template <typename T>
  T at(uint64_t pos) const {
    return load_le<T>(bytes_.data() + pos);
  }

 private:
  std::span<const std::byte> bytes_;
};

[[noreturn]] void bad(const MappedFile& file, uint64_t offset, const std::string& message) {
  throw_bad_input(file.path(), offset, "zip: " + message);
}

// Values of a ZIP64 extra field ("extended information") that replace 32-bit fields set to
// their maximum, in the order the specification fixes: uncompressed size, compressed size,
// local header offset, disk number.
struct Zip64Fields {
  std::optional<uint64_t> uncompressed, compressed, header_offset, disk;
};

Zip64Fields parse_zip64_extra(const MappedFile& file, std::span<const std::byte> extra,
                              uint64_t extra_offset, bool want_uncompressed, bool want_compressed,
                              bool want_offset, bool want_disk) {
  Zip64Fields out;
  uint64_t pos = 0;
  while (pos + 4 <= extra.size()) {
    const auto id = load_le<uint16_t>(extra.data() + pos);
    const auto len = load_le<uint16_t>(extra.data() + pos + 2);
    if (len > extra.size() - pos - 4)
      bad(file, extra_offset + pos, "extra field runs past its end");
    if (id == kZip64ExtraId) {
      const std::byte* p = extra.data() + pos + 4;
      uint64_t used = 0;
      auto take64 = [&](std::optional<uint64_t>& field) {
        if (used + 8 > len) bad(file, extra_offset + pos, "ZIP64 extra field is too short");
        field = load_le<uint64_t>(p + used);
        used += 8;
      };
      if (want_uncompressed) take64(out.uncompressed);
      if (want_compressed) take64(out.compressed);
      if (want_offset) take64(out.header_offset);
      if (want_disk) {
        if (used + 4 > len) bad(file, extra_offset + pos, "ZIP64 extra field is too short");
        out.disk = load_le<uint32_t>(p + used);
      }
      return out;
    }
    pos += 4 + len;
  }
  if (want_uncompressed || want_compressed || want_offset || want_disk)
    bad(file, extra_offset, "a field is marked as 64-bit but there is no ZIP64 extra field");
  return out;
}

struct EndRecord {
  uint64_t entries = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_size = 0;
  uint64_t cd_limit = 0;  // where the central directory must end at the latest
};

EndRecord read_end_record(const MappedFile& file) {
  const uint64_t size = file.size();
  if (size < kEndSize) bad(file, 0, "file is too short to be a zip archive");
  // The end record is last, followed only by its comment (at most 65535 bytes).
  const uint64_t lowest = size > kEndSize + kMax16 ? size - kEndSize - kMax16 : 0;
  std::optional<uint64_t> found;
  const auto tail = file.slice(lowest, size - lowest, "zip end record");
  for (uint64_t pos = size - kEndSize + 1; pos-- > lowest;) {
    const std::byte* p = tail.data() + (pos - lowest);
    if (load_le<uint32_t>(p) == kEndSig && load_le<uint16_t>(p + 20) == size - pos - kEndSize) {
      found = pos;
      break;
    }
  }
  if (!found) bad(file, size, "no end-of-central-directory record (not a zip file, or truncated)");
  const uint64_t eocd = *found;
  Cursor e(file, eocd, kEndSize, "zip end record");
  if (e.at<uint16_t>(4) != 0 || e.at<uint16_t>(6) != 0)
    bad(file, eocd, "multi-disk archives are not supported");
  EndRecord r;
  r.entries = e.at<uint16_t>(10);
  r.cd_size = e.at<uint32_t>(12);
  r.cd_offset = e.at<uint32_t>(16);
  r.cd_limit = eocd;
  if (e.at<uint16_t>(8) != r.entries)
    bad(file, eocd, "entry counts of this disk and of the archive differ");

  if (eocd < kZip64LocatorSize) return r;
  const uint64_t locator = eocd - kZip64LocatorSize;
  Cursor l(file, locator, kZip64LocatorSize, "zip64 locator");
  if (l.at<uint32_t>(0) != kZip64LocatorSig) return r;
  if (l.at<uint32_t>(4) != 0 || l.at<uint32_t>(16) > 1)
    bad(file, locator, "multi-disk archives are not supported");
  const uint64_t z = l.at<uint64_t>(8);
  if (z > locator || locator - z < kZip64EndSize)
    bad(file, locator,
        "ZIP64 end record offset " + std::to_string(z) + " is not before its locator");
  Cursor z64(file, z, kZip64EndSize, "zip64 end record");
  if (z64.at<uint32_t>(0) != kZip64EndSig) bad(file, z, "bad ZIP64 end record signature");
  const uint64_t record_size = z64.at<uint64_t>(4);
  if (record_size < kZip64EndSize - 12 || record_size > locator - z - 12)
    bad(file, z, "ZIP64 end record size " + std::to_string(record_size) + " is inconsistent");
  if (z64.at<uint32_t>(16) != 0 || z64.at<uint32_t>(20) != 0)
    bad(file, z, "multi-disk archives are not supported");
  const uint64_t entries = z64.at<uint64_t>(32);
  if (z64.at<uint64_t>(24) != entries)
    bad(file, z, "entry counts of this disk and of the archive differ");
  const uint64_t cd_size = z64.at<uint64_t>(40);
  const uint64_t cd_offset = z64.at<uint64_t>(48);
  // The classic record repeats each value unless it overflowed (then it holds the maximum).
  if ((r.entries != kMax16 && r.entries != entries) ||
      (r.cd_size != kMax32 && r.cd_size != cd_size) ||
      (r.cd_offset != kMax32 && r.cd_offset != cd_offset))
    bad(file, eocd, "end record disagrees with the ZIP64 end record");
  r.entries = entries;
  r.cd_size = cd_size;
  r.cd_offset = cd_offset;
  r.cd_limit = z;
  return r;
}

// The byte after an entry's payload and optional data descriptor, checking the descriptor
// against what the central directory says.
uint64_t check_descriptor(const MappedFile& file, const ZipEntry& e, uint64_t uncompressed_size,
                          uint64_t data_end, bool zip64) {
  uint64_t pos = data_end;
  const uint64_t remaining = file.size() - pos;
  if (remaining >= 4 && load_le<uint32_t>(file.bytes().data() + pos) == kDescriptorSig) pos += 4;
  const uint64_t size_width = zip64 ? 8 : 4;
  const uint64_t length = 4 + 2 * size_width;
  const auto d = file.slice(pos, length, "zip data descriptor of " + e.name);
  const uint32_t crc = load_le<uint32_t>(d.data());
  const uint64_t compressed =
      zip64 ? load_le<uint64_t>(d.data() + 4) : load_le<uint32_t>(d.data() + 4);
  const uint64_t uncompressed =
      zip64 ? load_le<uint64_t>(d.data() + 12) : load_le<uint32_t>(d.data() + 8);
  if (crc != e.crc32 || compressed != e.size || uncompressed != uncompressed_size)
    bad(file, pos, "data descriptor of \"" + e.name + "\" disagrees with the central directory");
  return pos + length;
}

}  // namespace

ZipDirectory ZipDirectory::read(const MappedFile& file) {
  const EndRecord end = read_end_record(file);
  if (end.cd_offset > end.cd_limit || end.cd_size > end.cd_limit - end.cd_offset)
    bad(file, end.cd_limit,
        "central directory [" + std::to_string(end.cd_offset) + ", +" +
            std::to_string(end.cd_size) + ") does not end before the end record");
  if (end.entries > end.cd_size / kCentralHeaderSize || end.entries > kMaxEntries)
    bad(file, end.cd_limit,
        "end record claims " + std::to_string(end.entries) + " entries, more than fit in the " +
            std::to_string(end.cd_size) + "-byte central directory");

  ZipDirectory dir;
  dir.entries_.reserve(end.entries);
  std::vector<std::pair<uint64_t, uint64_t>> spans;  // [local header, end of entry)
  // The central directory first, then the local headers it points to.
  struct CentralEntry {
    ZipEntry entry;
    uint64_t uncompressed;
    uint64_t central_offset;
  };
  std::vector<CentralEntry> central;
  central.reserve(end.entries);
  uint64_t pos = end.cd_offset;
  const uint64_t cd_end = end.cd_offset + end.cd_size;
  for (uint64_t i = 0; i < end.entries; ++i) {
    if (cd_end - pos < kCentralHeaderSize) bad(file, pos, "central directory is truncated");
    Cursor c(file, pos, kCentralHeaderSize, "zip central directory entry");
    if (c.at<uint32_t>(0) != kCentralHeaderSig)
      bad(file, pos, "bad central directory entry signature");
    const uint16_t flags = c.at<uint16_t>(8);
    const uint16_t method = c.at<uint16_t>(10);
    const uint32_t crc = c.at<uint32_t>(16);
    const uint32_t compressed32 = c.at<uint32_t>(20);
    const uint32_t uncompressed32 = c.at<uint32_t>(24);
    const uint16_t name_len = c.at<uint16_t>(28);
    const uint16_t extra_len = c.at<uint16_t>(30);
    const uint16_t comment_len = c.at<uint16_t>(32);
    const uint16_t disk16 = c.at<uint16_t>(34);
    const uint32_t offset32 = c.at<uint32_t>(42);
    const uint64_t variable = uint64_t{name_len} + extra_len + comment_len;
    if (variable > cd_end - pos - kCentralHeaderSize)
      bad(file, pos, "central directory entry runs past the central directory");
    const auto name_bytes = file.slice(pos + kCentralHeaderSize, name_len, "zip entry name");
    ZipEntry e;
    e.name = std::string(as_chars(name_bytes));
    e.crc32 = crc;
    if (e.name.empty()) bad(file, pos, "entry with an empty name");
    if (flags & (kFlagEncrypted | kFlagStrongEncryption | kFlagMaskedDirectory))
      bad(file, pos, "entry \"" + e.name + "\" is encrypted");
    e.method = method;
    const uint64_t extra_offset = pos + kCentralHeaderSize + name_len;
    const Zip64Fields z = parse_zip64_extra(
        file, file.slice(extra_offset, extra_len, "zip extra field"), extra_offset,
        uncompressed32 == kMax32, compressed32 == kMax32, offset32 == kMax32, disk16 == kMax16);
    const uint64_t uncompressed = z.uncompressed.value_or(uncompressed32);
    const uint64_t compressed = z.compressed.value_or(compressed32);
    e.header_offset = z.header_offset.value_or(offset32);
    if (z.disk.value_or(disk16) != 0) bad(file, pos, "multi-disk archives are not supported");
    if (method == 0 && compressed != uncompressed)
      bad(file, pos,
          "stored entry \"" + e.name + "\" has different compressed (" +
              std::to_string(compressed) + ") and uncompressed (" + std::to_string(uncompressed) +
              ") sizes");
    e.size = compressed;
    central.push_back({std::move(e), uncompressed, pos});
    pos += kCentralHeaderSize + variable;
  }
  if (pos != cd_end)
    bad(file, pos,
        "central directory has " + std::to_string(cd_end - pos) + " bytes after its last entry");

  // With a cold page cache every header below is a read from disk: asking for all of them first
  // lets the disk serve them side by side instead of one round trip per tensor. The descriptor
  // after each payload sits a few hundred bytes past header offset + payload size.
  for (const CentralEntry& c : central) {
    file.prefetch(c.entry.header_offset, kLocalHeaderSize);
    file.prefetch(c.entry.header_offset + c.entry.size, 512);
  }

  for (CentralEntry& c : central) {
    ZipEntry& e = c.entry;
    const uint64_t compressed = e.size;
    const uint64_t uncompressed = c.uncompressed;
    const uint16_t method = e.method;
    // The local header must repeat the name and, unless sizes come in a data descriptor, the
    // sizes and CRC.
    const uint64_t lh = e.header_offset;
    Cursor l(file, lh, kLocalHeaderSize, "zip local header of " + e.name);
    if (l.at<uint32_t>(0) != kLocalHeaderSig)
      bad(file, lh, "bad local header signature for \"" + e.name + "\"");
    const uint16_t local_flags = l.at<uint16_t>(6);
    if (l.at<uint16_t>(8) != method) bad(file, lh, "local header method differs for " + e.name);
    const uint16_t local_name_len = l.at<uint16_t>(26);
    const uint16_t local_extra_len = l.at<uint16_t>(28);
    const auto local_name =
        file.slice(lh + kLocalHeaderSize, local_name_len, "zip local header name");
    if (as_chars(local_name) != e.name)
      bad(file, lh, "local header name differs from the central directory's \"" + e.name + "\"");
    const uint64_t local_extra_offset = lh + kLocalHeaderSize + local_name_len;
    const auto local_extra =
        file.slice(local_extra_offset, local_extra_len, "zip local extra field");
    const uint32_t local_crc = l.at<uint32_t>(14);
    const uint32_t local_compressed = l.at<uint32_t>(18);
    const uint32_t local_uncompressed = l.at<uint32_t>(22);
    const bool local_zip64 = local_compressed == kMax32 || local_uncompressed == kMax32;
    const bool descriptor = local_flags & kFlagDataDescriptor;
    if (!descriptor) {
      uint64_t lc = local_compressed, lu = local_uncompressed;
      if (local_zip64) {
        // In a local header the ZIP64 field holds both sizes whenever either overflowed.
        const Zip64Fields lz =
            parse_zip64_extra(file, local_extra, local_extra_offset, true, true, false, false);
        lu = *lz.uncompressed;
        lc = *lz.compressed;
      }
      if (local_crc != e.crc32 || lc != compressed || lu != uncompressed)
        bad(file, lh, "local header of \"" + e.name + "\" disagrees with the central directory");
    }
    e.data_offset = local_extra_offset + local_extra_len;
    const bool has_zip64_extra = [&] {
      for (uint64_t p = 0; p + 4 <= local_extra.size();) {
        if (load_le<uint16_t>(local_extra.data() + p) == kZip64ExtraId) return true;
        p += 4 + load_le<uint16_t>(local_extra.data() + p + 2);
      }
      return false;
    }();
    // Touching a header maps the page-cache folio around it (megabytes with large folios, i.e.
    // hundreds of MB over a GPT-2-XL file's headers); unmap it so that opening stays small. Nothing
    // below may read the header again (that would map the folio back).
    file.unmap_around(lh, e.data_offset - lh);
    file.slice(e.data_offset, e.size, "zip entry \"" + e.name + "\"");  // inside the file
    uint64_t entry_end = e.data_offset + e.size;
    if (descriptor) {
      const uint64_t descriptor_offset = entry_end;
      entry_end =
          check_descriptor(file, e, uncompressed, entry_end, has_zip64_extra || local_zip64);
      file.unmap_around(descriptor_offset, entry_end - descriptor_offset);  // as for the header
    }
    spans.emplace_back(lh, entry_end);

    if (!dir.by_name_.emplace(e.name, dir.entries_.size()).second)
      bad(file, c.central_offset, "entry \"" + e.name + "\" appears twice");
    dir.entries_.push_back(std::move(e));
  }

  std::sort(spans.begin(), spans.end());
  for (size_t i = 0; i < spans.size(); ++i) {
    const uint64_t limit = i + 1 < spans.size() ? spans[i + 1].first : end.cd_offset;
    if (spans[i].second > limit)
      bad(file, spans[i].first,
          i + 1 < spans.size() ? "entry overlaps the entry at byte " + std::to_string(limit)
                               : "entry overlaps the central directory");
  }
  return dir;
}

const ZipEntry* ZipDirectory::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

void require_stored(const MappedFile& file, const ZipEntry& entry) {
  if (entry.method != 0)
    bad(file, entry.header_offset,
        "entry \"" + entry.name + "\" is compressed (method " + std::to_string(entry.method) +
            "); torch.save stores records uncompressed, so the file was re-packed by another "
            "tool (unzip it and save it again with torch.save)");
}

void verify_zip_crc(const MappedFile& file, const ZipEntry& entry) {
  require_stored(file, entry);
  const auto bytes = file.slice(entry.data_offset, entry.size, "zip entry \"" + entry.name + "\"");
  const uint32_t crc = crc32_extend(0, bytes);
  if (crc != entry.crc32) {
    char text[64];
    std::snprintf(text, sizeof text, "CRC-32 is %08x, the directory says %08x", crc, entry.crc32);
    bad(file, entry.data_offset, "entry \"" + entry.name + "\" is corrupt: " + text);
  }
}

}  // namespace tensorferry
