#include "core/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/error.h"
#include "core/output.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLockSuffix = ".tensorferry-lock";
// A lock file replaced under a waiter again and again means something else is at work there.
constexpr int kMaxAttempts = 100;

// The pid the holder wrote into the lock file, for the message; empty when unreadable.
std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  if (n <= 0) return {};
  std::string pid(text, static_cast<size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

bool same_file(int fd, const fs::path& path) {
  struct stat held {
  }, named{};
  return ::fstat(fd, &held) == 0 && ::lstat(path.c_str(), &named) == 0 &&
         held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

}  // namespace

fs::path OutputLock::lock_path_of(const fs::path& output) {
  const fs::path abs = absolute_output_path(output);
  return abs.parent_path() / ("." + abs.filename().string() + std::string(kLockSuffix));
}

OutputLock::OutputLock(const fs::path& output) : lock_path_(lock_path_of(output)) {
  const std::string shown = absolute_output_path(output).string();
  std::error_code ec;
  fs::create_directories(lock_path_.parent_path(), ec);
  if (ec)
    throw_io(lock_path_.parent_path().string(), "cannot create the folder to write into",
             ec.value());
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) throw_io(lock_path_.string(), "cannot create the lock file", errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      const std::string pid = error == EWOULDBLOCK ? holder_pid(fd) : std::string();
      ::close(fd);
      if (error != EWOULDBLOCK) throw_io(lock_path_.string(), "cannot lock", error);
      throw Error(ErrorKind::kIo,
                  "another tensorferry process" + (pid.empty() ? "" : " (pid " + pid + ")") +
                      " is writing this output; run again when it has finished (lock file " +
                      lock_path_.filename().string() + ")",
                  shown);
    }
    if (!same_file(fd, lock_path_)) {
      ::close(fd);  // its previous holder removed it while we waited for it: lock the new one
      continue;
    }
    fd_ = fd;
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      // Only the message of a second run would lack the pid; the lock itself holds.
    }
    return;
  }
  throw Error(ErrorKind::kIo, "the lock file keeps being replaced by other processes",
              lock_path_.string());
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  // Removed while still held, so that no other run can have locked this inode in between.
  ::unlink(lock_path_.c_str());
  ::close(fd_);
}

}  // namespace tensorferry
