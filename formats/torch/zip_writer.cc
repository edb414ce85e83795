#include "formats/torch/zip_writer.h"

#include <algorithm>

#include "core/bytes.h"
#include "core/crc.h"
#include "core/error.h"

namespace tensorferry {
namespace {

constexpr uint32_t kMax32 = 0xffffffffu;
constexpr uint16_t kMax16 = 0xffffu;
constexpr uint16_t kFlagUtf8 = 1 << 11;
constexpr uint16_t kFlagDataDescriptor = 1 << 3;            // CRC-32 and sizes follow the payload
constexpr uint16_t kVersion20 = 20;                         // stored entries
constexpr uint16_t kVersion45 = 45;                         // ZIP64
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, the earliest DOS date
constexpr uint64_t kLocalHeaderCrcOffset = 14;  // signature, versions, flags, method, time, date

// Little-endian record builder.
class Record {
 public:
  Record& u16(uint16_t v) { return put(v); }
  Record& u32(uint32_t v) { return put(v); }
  Record& u64(uint64_t v) { return put(v); }
  Record& text(std::string_view s) {
    const auto b = as_bytes(s);
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  Record& fill(size_t n, char c) {
    bytes_.insert(bytes_.end(), n, static_cast<std::byte>(c));
    return *this;
  }
  std::span<const std::byte> bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }

 private:
  template <typename T>
  Record& put(T v) {
    std::byte b[sizeof(T)];
    store_le(b, v);
    bytes_.insert(bytes_.end(), b, b + sizeof(T));
    return *this;
  }
  std::vector<std::byte> bytes_;
};

}  // namespace

void ZipWriter::add(std::string_view name, std::string_view text) { add(name, as_bytes(text)); }

void ZipWriter::add(std::string_view name, std::span<const std::byte> payload) {
  if (finished_) throw Error(ErrorKind::kUsage, "zip: entry added after finish()", out_.path());
  if (name.size() > kMax16) throw Error(ErrorKind::kUsage, "zip: entry name too long", out_.path());
  const uint64_t offset = out_.position();
  const uint64_t size = payload.size();
  // With ZIP64 the local header's sizes are 0xffffffff and the descriptor's are 8 bytes wide.
  const bool zip64 = force_zip64_ || size >= kMax32;
  const uint64_t zip64_extra = zip64 ? 4 + 16 : 0;
  // Padding field "FB" + u16 length + 'Z'*n, so that the payload starts on a 64-byte boundary.
  const uint64_t unpadded = offset + 30 + name.size() + zip64_extra + 4;
  const uint64_t pad = (kAlignment - unpadded % kAlignment) % kAlignment;

  Record h;
  h.u32(0x04034b50)
      .u16(zip64 ? kVersion45 : kVersion20)
      .u16(kFlagUtf8 | kFlagDataDescriptor)
      .u16(0)
      .u16(0)
      .u16(kDosDate1980)
      .u32(0);  // CRC-32 and sizes follow the payload, in the data descriptor
  h.u32(zip64 ? kMax32 : 0).u32(zip64 ? kMax32 : 0);
  h.u16(static_cast<uint16_t>(name.size())).u16(static_cast<uint16_t>(zip64_extra + 4 + pad));
  h.text(name);
  if (zip64) h.u16(0x0001).u16(16).u64(0).u64(0);
  h.u16(0x4246).u16(static_cast<uint16_t>(pad)).fill(pad, 'Z');  // 'F' 'B'
  out_.write(h.bytes());
  const uint32_t crc = write_summing_crc32(payload);
  Record descriptor;
  descriptor.u32(0x08074b50).u32(crc);
  if (zip64)
    descriptor.u64(size).u64(size);
  else
    descriptor.u32(static_cast<uint32_t>(size)).u32(static_cast<uint32_t>(size));
  out_.write(descriptor.bytes());
  entries_.push_back({std::string(name), offset, size, crc});
}

// One pass over the payload: each piece is summed while it is still in the CPU's cache and then
// copied into the output's buffer, instead of a CRC pass over the whole tensor followed by a
// second read for the write.
uint32_t ZipWriter::write_summing_crc32(std::span<const std::byte> payload) {
  constexpr size_t kPiece = 1 << 20;  // fits the core's L2 cache
  uint32_t crc = 0;
  for (size_t done = 0; done < payload.size(); done += kPiece) {
    const auto piece = payload.subspan(done, std::min(kPiece, payload.size() - done));
    crc = crc32_extend(crc, piece);
    out_.write(piece);
  }
  return crc;
}

void ZipWriter::finish() {
  if (finished_) return;
  finished_ = true;
  const uint64_t cd_offset = out_.position();
  for (const Entry& e : entries_) {
    const bool big_size = force_zip64_ || e.size >= kMax32;
    const bool big_offset = force_zip64_ || e.header_offset >= kMax32;
    const uint16_t extra = (big_size ? 16 : 0) + (big_offset ? 8 : 0);
    Record c;
    c.u32(0x02014b50).u16(extra ? kVersion45 : kVersion20).u16(extra ? kVersion45 : kVersion20);
    c.u16(kFlagUtf8).u16(0).u16(0).u16(kDosDate1980).u32(e.crc32);
    c.u32(big_size ? kMax32 : static_cast<uint32_t>(e.size));
    c.u32(big_size ? kMax32 : static_cast<uint32_t>(e.size));
    c.u16(static_cast<uint16_t>(e.name.size()))
        .u16(extra ? 4 + extra : 0)
        .u16(0)
        .u16(0)
        .u16(0)
        .u32(0);
    c.u32(big_offset ? kMax32 : static_cast<uint32_t>(e.header_offset));
    c.text(e.name);
    if (extra) {
      c.u16(0x0001).u16(extra);
      if (big_size) c.u64(e.size).u64(e.size);
      if (big_offset) c.u64(e.header_offset);
    }
    out_.write(c.bytes());
  }
  const uint64_t cd_end = out_.position();
  const uint64_t cd_size = cd_end - cd_offset;
  const uint64_t count = entries_.size();
  const bool zip64 = force_zip64_ || count >= kMax16 || cd_size >= kMax32 || cd_offset >= kMax32;
  if (zip64) {
    Record z;
    z.u32(0x06064b50).u64(44).u16(kVersion45).u16(kVersion45).u32(0).u32(0);
    z.u64(count).u64(count).u64(cd_size).u64(cd_offset);
    z.u32(0x07064b50).u32(0).u64(cd_end).u32(1);  // locator of the record just written
    out_.write(z.bytes());
  }
  Record end;
  end.u32(0x06054b50).u16(0).u16(0);
  const uint16_t count16 = zip64 && count >= kMax16 ? kMax16 : static_cast<uint16_t>(count);
  end.u16(count16).u16(count16);
  end.u32(zip64 && cd_size >= kMax32 ? kMax32 : static_cast<uint32_t>(cd_size));
  end.u32(zip64 && cd_offset >= kMax32 ? kMax32 : static_cast<uint32_t>(cd_offset));
  end.u16(0);
  out_.write(end.bytes());
}

}  // namespace tensorferry
