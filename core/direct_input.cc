#include "core/direct_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "core/error.h"

namespace tensorferry {
namespace {

struct FreeDeleter {
  void operator()(std::byte* p) const { std::free(p); }
};

// This thread's descriptor (of the last file read) and buffer.
class DirectReader {
 public:
  DirectReader() = default;
  ~DirectReader() { close_file(); }
  DirectReader(const DirectReader&) = delete;
  DirectReader& operator=(const DirectReader&) = delete;

  // Whether `file` is open for direct reads (opened now when it was not the last one).
  bool open(const FileIdentity& file) {
    if (fd_ >= 0 && file.path == path_ && file.device == device_ && file.inode == inode_)
      return true;
    close_file();
    const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    struct stat st {};
    const int flags = ::fcntl(fd, F_GETFL);
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != file.device ||
        st.st_ino != file.inode || flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) {
      ::close(fd);
      return false;
    }
    fd_ = fd;
    path_ = file.path;
    device_ = file.device;
    inode_ = file.inode;
    return true;
  }

  // Double-buffered when the range spans several pieces: a second thread reads piece i+1 while
  // piece i is consumed, so that the disk and the consumer (a comparison, a checksum) overlap.
  DirectRead read(uint64_t offset, uint64_t length, size_t piece, const PieceConsumer& consume,
                  const PieceHook& on_read) {
    piece = std::clamp<size_t>(piece, 1, kMaxDirectPiece);
    for (auto& buffer : buffers_)
      if (!buffer) {
        void* p = std::aligned_alloc(kDirectAlignment, kBufferBytes);
        if (!p) throw std::bad_alloc();
        buffer.reset(static_cast<std::byte*>(p));
      }
    const uint64_t count = (length + piece - 1) / piece;
    Pieces pieces{offset, length, piece};
    DirectRead result;
    if (count <= 1) {
      for (uint64_t i = 0; i < count; ++i) {
        if (!fill(buffers_[0].get(), pieces.at(i))) return refused(result);
        if (on_read) on_read(pieces.view(buffers_[0].get(), i));
        result.handed += pieces.at(i).length;
        result.stopped = !consume(pieces.view(buffers_[0].get(), i));
      }
      return result;
    }
    Prefetch prefetch;
    std::thread reader([&] { prefetch_loop(pieces, count, on_read, prefetch); });
    // Stops and joins the reading thread however this function is left (a consumer may throw).
    struct Join {
      Join(Prefetch& p, std::thread& r) : prefetch(p), reader(r) {}
      Join(const Join&) = delete;
      Join& operator=(const Join&) = delete;
      Prefetch& prefetch;
      std::thread& reader;
      ~Join() {
        {
          std::lock_guard lock(prefetch.mutex);
          prefetch.stop = true;
        }
        prefetch.changed.notify_all();
        reader.join();
      }
    };
    std::optional<Join> join(std::in_place, prefetch, reader);
    for (uint64_t i = 0; i < count && !result.stopped; ++i) {
      std::unique_lock lock(prefetch.mutex);
      prefetch.changed.wait(lock, [&] { return prefetch.filled > i || prefetch.ended; });
      if (prefetch.filled <= i) break;  // refused, or failed: after the join
      lock.unlock();
      result.handed += pieces.at(i).length;
      result.stopped = !consume(pieces.view(buffers_[i % 2].get(), i));
      lock.lock();
      prefetch.consumed = i + 1;
      prefetch.stop = result.stopped;
      prefetch.changed.notify_all();
    }
    join.reset();
    if (prefetch.error) std::rethrow_exception(prefetch.error);
    if (prefetch.refused && !result.stopped) return refused(result);
    return result;
  }

 private:
  struct Piece {
    uint64_t first = 0;   // block-aligned file offset the read starts at
    uint64_t span = 0;    // bytes read: whole blocks
    uint64_t skip = 0;    // bytes before the piece in the buffer
    uint64_t length = 0;  // bytes of the piece
  };
  struct Pieces {
    uint64_t offset, length;
    size_t piece;
    Piece at(uint64_t i) const {
      const uint64_t start = offset + i * piece;
      Piece p;
      p.length = std::min<uint64_t>(piece, length - i * piece);
      p.first = start / kDirectAlignment * kDirectAlignment;
      p.skip = start - p.first;
      p.span = (p.skip + p.length + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
      return p;
    }
    std::span<const std::byte> view(const std::byte* buffer, uint64_t i) const {
      const Piece p = at(i);
      return {buffer + p.skip, p.length};
    }
  };
  struct Prefetch {
    std::mutex mutex;
    std::condition_variable changed;
    uint64_t filled = 0;    // pieces read into their buffer
    uint64_t consumed = 0;  // pieces handed on, whose buffer is free again
    bool stop = false;      // the consumer is done
    bool ended = false;     // the reader thread is done
    bool refused = false;   // the filesystem refused a direct read
    std::exception_ptr error;
  };

  void prefetch_loop(const Pieces& pieces, uint64_t count, const PieceHook& on_read,
                     Prefetch& prefetch) {
    for (uint64_t i = 0; i < count; ++i) {
      {
        std::unique_lock lock(prefetch.mutex);
        prefetch.changed.wait(lock, [&] { return prefetch.stop || i < prefetch.consumed + 2; });
        if (prefetch.stop) break;
      }
      bool read = false;
      std::exception_ptr error;
      try {
        read = fill(buffers_[i % 2].get(), pieces.at(i));
        if (read && on_read) on_read(pieces.view(buffers_[i % 2].get(), i));
      } catch (...) {
        read = false;
        error = std::current_exception();
      }
      std::lock_guard lock(prefetch.mutex);
      if (!read) {
        prefetch.error = error;
        prefetch.refused = !error;
        break;
      }
      prefetch.filled = i + 1;
      prefetch.changed.notify_all();
    }
    std::lock_guard lock(prefetch.mutex);
    prefetch.ended = true;
    prefetch.changed.notify_all();
  }

  DirectRead refused(DirectRead result) {
    close_file();  // this file or filesystem takes no direct reads: the caller maps them
    return result;
  }

  // A piece's bytes into `buffer`: at least skip + length of the span asked for (the file may
  // end inside the last block; a short read that is not a whole number of blocks is the end of
  // the file). False when the filesystem refuses the direct read.
  bool fill(std::byte* buffer, const Piece& piece) {
    const uint64_t needed = piece.skip + piece.length;
    uint64_t got = 0;
    while (got < needed) {
      const ssize_t r =
          ::pread(fd_, buffer + got, piece.span - got, static_cast<off_t>(piece.first + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EINVAL && got == 0) return false;
      if (r < 0) throw_io(path_, "cannot read at byte " + std::to_string(piece.first + got), errno);
      if (r == 0 || (got + static_cast<uint64_t>(r) < needed && r % kDirectAlignment != 0))
        throw Error(ErrorKind::kIo,
                    "ends before byte " + std::to_string(piece.first + needed) +
                        ", which it had when it was opened (truncated while being read?)",
                    path_);
      got += static_cast<uint64_t>(r);
    }
    return true;
  }

  void close_file() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  static constexpr size_t kBufferBytes = kMaxDirectPiece + 2 * kDirectAlignment;
  std::unique_ptr<std::byte, FreeDeleter> buffers_[2];
  int fd_ = -1;
  std::string path_;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace

DirectRead read_direct(const FileIdentity& file, uint64_t offset, uint64_t length, size_t piece,
                       const PieceConsumer& consume, const PieceHook& on_read) {
  thread_local DirectReader reader;
  if (!reader.open(file)) return {};
  return reader.read(offset, length, piece, consume, on_read);
}

}  // namespace tensorferry
