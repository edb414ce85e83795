// A file written front to back with O_DIRECT from aligned buffers, by a second thread. For an
// output of gigabytes, a buffered write() spends its time in the kernel copying every byte into
// the page cache and allocating that cache (perf of the GGUF export: bench/RESULTS.md), evicts
// the input being read to make room, and leaves the disk write to fsync. Here the bytes go from
// our buffer to the disk, and the next buffer is filled while the previous one is written.
//
// O_DIRECT needs the buffer address, the file offset and the length to be multiples of the
// device's block size: buffers are 4 KiB aligned and written whole, and the last one is written
// rounded up with zeros and the file cut back to its length. A filesystem that refuses O_DIRECT
// (at open or at the first write) gets ordinary buffered writes of the same buffers.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tensorferry {

class DirectOutputFile {
 public:
  // Creates `path`, which must not exist yet (Error kIo otherwise). `try_direct` false writes
  // buffered from the start (tests of the fallback).
  explicit DirectOutputFile(std::string path, bool try_direct = true);
  // Stops the writer thread and closes the file, which stays as far as it got: the caller's
  // AtomicOutput removes it.
  ~DirectOutputFile();
  DirectOutputFile(const DirectOutputFile&) = delete;
  DirectOutputFile& operator=(const DirectOutputFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t position() const { return position_; }
  // Whether writes bypass the page cache (false after a fallback).
  bool direct() const;

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }
  void write_zeros(uint64_t count);
  // Room to fill in place (never empty, at most the rest of the current buffer), then advance()
  // by the bytes filled: a cast writes its output here instead of into a buffer of its own.
  std::span<std::byte> space();
  void advance(size_t filled);
  // Writes what is left, waits for the writer, cuts the file to its length, fsyncs and closes.
  // Throws Error(kIo) naming the file and the errno of the first write that failed.
  void close();

  static constexpr size_t kAlignment = 4096;        // a multiple of any device's logical block
  static constexpr size_t kBufferBytes = 16 << 20;  // per write (sizes measured: bench/RESULTS.md)
  static constexpr size_t kBuffers = 3;             // one being filled, two with the writer

 private:
  struct Buffer {
    std::byte* data = nullptr;
    uint64_t offset = 0;  // in the file
    size_t length = 0;    // bytes of the stream in it
  };
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };

  void submit_current();
  Buffer take_free_buffer();
  void writer_loop();
  void write_buffer(const Buffer& buffer);  // on the writer thread
  void throw_if_failed();

  std::string path_;
  int fd_ = -1;
  uint64_t position_ = 0;
  std::vector<std::unique_ptr<std::byte[], FreeDeleter>> storage_;
  Buffer current_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Buffer> queued_;  // full buffers, in file order, for the writer
  std::vector<Buffer> free_;
  bool writing_ = false;  // the writer holds a buffer
  bool stopping_ = false;
  bool direct_ = false;
  int error_ = 0;  // errno of the first failed write
  uint64_t error_offset_ = 0;
  std::thread writer_;
};

}  // namespace tensorferry
