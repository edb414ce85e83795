// One writer per output name at a time.
//
// Two tensorferry runs writing the same name at once could otherwise both pass the "output
// exists" check and both publish (the second silently replacing the first), or, for outputs
// whose files sit side by side (a TF bundle prefix, a sharded file name), interleave their
// commits and leave one run's data under the other's index. So every command that writes takes
// an exclusive flock(2) on a lock file beside the output, `.NAME.tensorferry-lock`, before it
// looks at what exists under NAME, and holds it until the output is published. A second run
// does not wait: it exits 4 naming the process that holds the lock.
//
// The lock file is removed by the holder before it lets go. A waiter that opened the file before
// the removal would then hold a lock on an unlinked inode, so after flock succeeds the path is
// checked to still be the locked inode, and the attempt repeats otherwise. A process killed
// while holding the lock leaves the file behind; the kernel released the lock, so the next run
// takes it as usual and removes it at the end.
#pragma once

#include <filesystem>

namespace tensorferry {

class OutputLock {
 public:
  // Takes the lock of `output` (a file, a bundle prefix, a sharded file name or a folder; a
  // trailing '/' is ignored), creating the folder it goes into if needed. Throws Error(kIo) when
  // another process holds it or the lock file cannot be created.
  explicit OutputLock(const std::filesystem::path& output);
  ~OutputLock();  // removes the lock file, then releases the lock
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  const std::filesystem::path& lock_path() const { return lock_path_; }

  // The lock file of `output`.
  static std::filesystem::path lock_path_of(const std::filesystem::path& output);

 private:
  std::filesystem::path lock_path_;
  int fd_ = -1;
};

}  // namespace tensorferry
