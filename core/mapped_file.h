// Read-only memory-mapped input. Readers hand out spans of the mapping instead of copying, and
// release pages they have consumed so that streaming a file larger than RAM keeps RSS flat.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/direct_input.h"

namespace tensorferry {

class MappedFile {
 public:
  // Opens through InputFile::open (regular files only; core/input_file.h). Throws Error(kIo)
  // when the file cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return identity_.path; }
  uint64_t size() const { return size_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

  // [offset, offset+length) of the file, or Error(kBadInput) naming `what` (and `tensor`) when the
  // range does not lie inside the file.
  std::span<const std::byte> slice(uint64_t offset, uint64_t length, std::string_view what,
                                   const std::string& tensor = {}) const;

  // Tells the kernel these pages will not be needed again (they stay valid to read).
  void release(uint64_t offset, uint64_t length) const;
  // Unmaps from this process the 2 MiB-aligned region around a small range just read: a fault
  // maps a whole large page-cache folio, not one page. Whatever else lies in the region is
  // merely unmapped (it stays valid to read).
  void unmap_around(uint64_t offset, uint64_t length) const;
  // Asks the kernel to read ahead these pages.
  void prefetch(uint64_t offset, uint64_t length) const;

  // Hands [offset, offset+length) to `consume` in order, in pieces of at most kStreamPiece
  // bytes, for a consumer that looks at each byte once. Pieces the page cache holds come from
  // the mapping (and are released after); pieces it does not hold are read around it
  // (core/direct_input.h), which is several times faster than faulting them into the cache on
  // this machine and leaves the cache to the other side's pages. Returns false when the
  // consumer stopped. A range outside the file is Error(kBadInput) as for slice(). `on_read`
  // sees every piece first (see PieceHook).
  bool stream(uint64_t offset, uint64_t length, std::string_view what, const std::string& tensor,
              const PieceConsumer& consume, const PieceHook& on_read = {}) const;

 private:
  MappedFile(FileIdentity identity, const std::byte* data, uint64_t size)
      : identity_(std::move(identity)), data_(data), size_(size) {}
  // stream()'s walk over `whole`, the mapped bytes at `offset` in the file.
  bool stream_pieces(std::span<const std::byte> whole, uint64_t offset,
                     const PieceConsumer& consume, const PieceHook& on_read) const;
  // Whether every page of the range is in the page cache.
  bool cached(uint64_t offset, uint64_t length) const;

  FileIdentity identity_;
  const std::byte* data_;
  uint64_t size_;
  mutable std::atomic<bool> direct_refused_{false};  // the filesystem takes no O_DIRECT reads
};

// Consumers of large spans call this on each piece they are done with: when the piece lies inside
// a live MappedFile, its whole pages are dropped from this process (they stay valid to read and
// come back from the page cache if touched again); any other memory is left alone. This keeps
// the resident set near one piece, not one tensor, while a tensor streams through.
void release_consumed(std::span<const std::byte> piece);

// For small pieces read at scattered places (rows of an embedding table): when the piece lies
// inside a live MappedFile, unmaps the 2 MiB-aligned region around it (see unmap_around: a
// fault maps a whole large folio, so a few bytes read can keep 2 MiB resident). Other memory
// is left alone.
void release_around(std::span<const std::byte> piece);

// Pieces of this size are what streaming consumers (checksums, file writes) work through before
// releasing them: large enough that the syscalls do not count, small next to the RSS bound.
inline constexpr size_t kStreamPiece = 8 << 20;

}  // namespace tensorferry
