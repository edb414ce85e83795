// Reading a file's bytes around the page cache (O_DIRECT) into one reused, aligned buffer.
//
// Why: pages that are not in the page cache cost the kernel a page-cache allocation per page on
// the way in (a cold 6.4 GB read through the cache: 14 s, 13.9 s of it system time, on the 2-core
// VM of bench/RESULTS.md; the same read with O_DIRECT: 1.5-2.6 s), and they evict what the cache
// held. A consumer that looks at each byte once (verify's comparison of a checkpoint just written
// around the cache, core/direct_output.h) needs neither. Pages the cache already holds are read
// from it instead (MappedFile::stream decides, piece by piece).
//
// O_DIRECT needs the buffer address, the file offset and the length in multiples of the device's
// block: a piece is read from its offset rounded down to kAlignment, with the length rounded up,
// and handed on without the extra bytes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace tensorferry {

// Receives the pieces of a streamed range in order; each is valid only during its call. Returns
// false to stop the stream (nothing more is read).
using PieceConsumer = std::function<bool(std::span<const std::byte>)>;
// Sees each piece before the consumer does, in order, possibly on the thread that reads ahead (a
// checksum sums there while the consumer works on the previous piece). May be empty.
using PieceHook = std::function<void(std::span<const std::byte>)>;

// The file a direct read is for: the path, and the identity it had when it was mapped, so that a
// file replaced since then is not read in its place.
struct FileIdentity {
  std::string path;
  dev_t device = 0;
  ino_t inode = 0;
};

// Reads [offset, offset + length) of `file` with O_DIRECT and hands it to `consume` in pieces of
// at most `piece` bytes (at most kMaxDirectPiece). Fewer than `length` bytes are handed on when
// the consumer stops, or when a direct read is impossible here (the filesystem refuses O_DIRECT,
// the path no longer names the same file): the caller reads the rest another way. Throws Error(kIo)
// naming the file and the offset for a failed read and for a file shorter than the range (truncated
// since it was mapped).
//
// One descriptor and one buffer per thread, reused from call to call: allocating fresh memory
// for every piece costs a page fault per page, which is what the direct read avoids.
struct DirectRead {
  uint64_t handed = 0;   // bytes handed to the consumer
  bool stopped = false;  // because it returned false
};
DirectRead read_direct(const FileIdentity& file, uint64_t offset, uint64_t length, size_t piece,
                       const PieceConsumer& consume, const PieceHook& on_read = {});

inline constexpr size_t kDirectAlignment = 4096;  // a multiple of any device's logical block
inline constexpr size_t kMaxDirectPiece = 16 << 20;

}  // namespace tensorferry
