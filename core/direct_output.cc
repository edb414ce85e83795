#include "core/direct_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/release_touched.h"

namespace tensorferry {

void DirectOutputFile::FreeDeleter::operator()(std::byte* p) const { std::free(p); }

DirectOutputFile::DirectOutputFile(std::string path, bool try_direct) : path_(std::move(path)) {
  // Created without O_DIRECT, then switched: a filesystem without it refuses the switch (EINVAL)
  // and the file is simply written buffered, where an open(O_DIRECT) refused might already have
  // created the file.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io(path_, "cannot create", errno);
  if (try_direct) {
    const int flags = ::fcntl(fd_, F_GETFL);
    direct_ = flags >= 0 && ::fcntl(fd_, F_SETFL, flags | O_DIRECT) == 0;
  }
  for (size_t i = 0; i < kBuffers; ++i) {
    void* p = std::aligned_alloc(kAlignment, kBufferBytes);
    if (!p) {
      ::close(fd_);
      throw std::bad_alloc();
    }
    storage_.emplace_back(static_cast<std::byte*>(p));
    free_.push_back({storage_.back().get(), 0, 0});
  }
  current_ = free_.back();
  free_.pop_back();
  writer_ = std::thread([this] { writer_loop(); });
}

DirectOutputFile::~DirectOutputFile() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queued_.clear();  // abandoned: the caller is failing, the file will be removed
  }
  changed_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

bool DirectOutputFile::direct() const {
  std::lock_guard lock(mutex_);
  return direct_;
}

void DirectOutputFile::write(std::span<const std::byte> bytes) {
  const auto whole = bytes;
  while (!bytes.empty()) {
    const auto room = space();
    const size_t n = std::min(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), n);
    advance(n);
    // A tensor mapped from the input keeps no more than a buffer's worth resident here.
    release_consumed(bytes.first(n));
    bytes = bytes.subspan(n);
  }
  // The folios around its ends, which the pieces' release leaves mapped (core/release_touched.h).
  release_ends(whole);
}

void DirectOutputFile::write_zeros(uint64_t count) {
  while (count > 0) {
    const auto room = space();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(room.size(), count));
    std::memset(room.data(), 0, n);
    advance(n);
    count -= n;
  }
}

std::span<std::byte> DirectOutputFile::space() {
  if (fd_ < 0) throw Error(ErrorKind::kIo, "write after close", path_);
  if (current_.length == kBufferBytes) {
    submit_current();
    current_ = take_free_buffer();
    current_.offset = position_;
  }
  return {current_.data + current_.length, kBufferBytes - current_.length};
}

void DirectOutputFile::advance(size_t filled) {
  current_.length += filled;
  position_ += filled;
}

void DirectOutputFile::submit_current() {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(current_);
  }
  changed_.notify_all();
  current_ = {};
}

DirectOutputFile::Buffer DirectOutputFile::take_free_buffer() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !free_.empty(); });
  Buffer b = free_.back();
  free_.pop_back();
  b.length = 0;
  const bool failed = error_ != 0;
  lock.unlock();
  if (failed) throw_if_failed();
  return b;
}

void DirectOutputFile::writer_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stopping, nothing left
    const Buffer b = queued_.front();
    queued_.pop_front();
    writing_ = true;
    const bool failed = error_ != 0;
    lock.unlock();
    if (!failed) write_buffer(b);  // after a failure the rest is only handed back
    lock.lock();
    writing_ = false;
    free_.push_back(b);
    changed_.notify_all();
  }
}

void DirectOutputFile::write_buffer(const Buffer& b) {
  bool direct = direct_;  // only this thread changes it once writing has started
  size_t length = b.length;
  if (direct && length % kAlignment != 0) {
    // The last buffer: whole blocks, the tail zero-filled; close() cuts the file back.
    const size_t padded = (length + kAlignment - 1) / kAlignment * kAlignment;
    std::memset(b.data + length, 0, padded - length);
    length = padded;
  }
  size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pwrite(fd_, b.data + done, length - done, static_cast<off_t>(b.offset + done));
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    const int err = n == 0 ? EIO : errno;
    if (err == EINTR) continue;
    if (err == EINVAL && direct) {
      // The filesystem took the flag but refuses the write (a block size above 4 KiB, a short
      // direct write that left the offset unaligned): the rest goes buffered.
      const int flags = ::fcntl(fd_, F_GETFL);
      if (flags >= 0 && ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) == 0) {
        direct = false;
        length = std::max(done, b.length);
        std::lock_guard lock(mutex_);
        direct_ = false;
        continue;
      }
    }
    std::lock_guard lock(mutex_);
    if (error_ != 0) return;  // the first failure is the one reported
    error_ = err;
    error_offset_ = b.offset + done;
    return;
  }
}

void DirectOutputFile::throw_if_failed() {
  std::unique_lock lock(mutex_);
  if (error_ == 0) return;
  const int err = error_;
  const uint64_t offset = error_offset_;
  lock.unlock();
  throw_io(path_, "cannot write at byte " + std::to_string(offset), err);
}

void DirectOutputFile::close() {
  if (fd_ < 0) return;
  if (current_.length > 0) {
    submit_current();
  } else {
    std::lock_guard lock(mutex_);
    free_.push_back(current_);
    current_ = {};
  }
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queued_.empty() && !writing_; });
    stopping_ = true;
  }
  changed_.notify_all();
  writer_.join();
  // The buffers go now, not with the object: convert's verify runs while the writer lives.
  free_.clear();
  storage_.clear();
  const int fd = fd_;
  fd_ = -1;
  try {
    throw_if_failed();
    if (::ftruncate(fd, static_cast<off_t>(position_)) != 0) throw_io(path_, "cannot size", errno);
    if (::fsync(fd) != 0) throw_io(path_, "cannot sync", errno);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw_io(path_, "cannot close", errno);
}

}  // namespace tensorferry
