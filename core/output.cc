#include "core/output.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {
constexpr size_t kBufferSize = OutputFile::kDirectWriteSize;
constexpr std::string_view kTempMarker = ".tensorferry-tmp-";
constexpr std::string_view kPublishingMarker = ".tensorferry-publishing-";

void write_all(int fd, const std::string& path, const std::byte* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path, "cannot write", errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

std::string temp_prefix(const fs::path& final_path) {
  return "." + final_path.filename().string() + std::string(kTempMarker);
}

std::string publishing_prefix(const fs::path& index_path) {
  return "." + index_path.filename().string() + std::string(kPublishingMarker);
}

// For every NAME in `dir` that is PREFIX followed by the decimal pid of a process that no longer
// runs, calls found(path).
void for_each_dead_process_file(const fs::path& dir, const std::string& prefix,
                                const std::function<void(const fs::path&)>& found) {
  std::error_code ec;
  std::vector<fs::path> dead;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    char* end = nullptr;
    const long pid = std::strtol(pid_text.c_str(), &end, 10);
    if (pid_text.empty() || *end != '\0' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // still running
    dead.push_back(entry.path());
  }
  for (const auto& path : dead) found(path);  // not while iterating: found() may remove files
}
}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io(path_, "cannot create", errno);
  buffer_.reserve(kBufferSize);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::flush() {
  if (buffer_.empty()) return;
  write_all(fd_, path_, buffer_.data(), buffer_.size());
  buffer_.clear();
  start_writeback();
}

// Asks the kernel to start writing what has been handed to it so far, without waiting, once a
// window's worth has gathered: the disk then works while the next tensors are read and summed,
// and the fsync in close() finds little left to do. Advisory: a failure here changes nothing
// (close() still fsyncs and reports errors).
void OutputFile::start_writeback() {
  const uint64_t handed_over = position_ - buffer_.size();
  if (handed_over - writeback_started_ < kWritebackWindow) return;
  ::sync_file_range(fd_, static_cast<off_t>(writeback_started_),
                    static_cast<off_t>(handed_over - writeback_started_), SYNC_FILE_RANGE_WRITE);
  writeback_started_ = handed_over;
}

void OutputFile::write(std::span<const std::byte> bytes) {
  if (fd_ < 0) throw Error(ErrorKind::kIo, "write after close", path_);
  if (bytes.size() >= kBufferSize) {
    flush();
    // In pieces, each released once written: a tensor mapped from the input then never has more
    // than a piece resident in this process.
    for (size_t done = 0; done < bytes.size(); done += kStreamPiece) {
      const auto piece = bytes.subspan(done, std::min(kStreamPiece, bytes.size() - done));
      write_all(fd_, path_, piece.data(), piece.size());
      release_consumed(piece);
    }
    position_ += bytes.size();
    start_writeback();
  } else {
    if (buffer_.size() + bytes.size() > kBufferSize) flush();
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    position_ += bytes.size();
  }
}

void OutputFile::write(std::string_view text) {
  write(std::span(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

void OutputFile::write_zeros(uint64_t count) {
  static const std::byte zeros[4096] = {};
  while (count > 0) {
    const uint64_t n = std::min<uint64_t>(count, sizeof zeros);
    write(std::span(zeros, n));
    count -= n;
  }
}

void OutputFile::write_at(uint64_t offset, std::span<const std::byte> bytes) {
  flush();
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io(path_, "cannot write", errno);
    }
    done += static_cast<size_t>(n);
  }
}

void OutputFile::close() {
  if (fd_ < 0) return;
  flush();
  if (::fsync(fd_) != 0) throw_io(path_, "cannot sync", errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_io(path_, "cannot close", errno);
}

fs::path absolute_output_path(const fs::path& output) {
  fs::path abs = fs::absolute(output).lexically_normal();
  if (!abs.has_filename()) abs = abs.parent_path();  // "out/" -> "out"
  return abs;
}

void sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_io(dir.string(), "cannot open directory", errno);
  ::fsync(fd);  // some filesystems refuse fsync on directories; the rename is still atomic
  ::close(fd);
}

void AtomicOutput::refuse_existing(const fs::path& final_path, bool force) {
  const fs::path path = absolute_output_path(final_path);
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec)) && !force)
    throw Error(ErrorKind::kUsage, "output exists; pass --force to replace it", path.string());
}

AtomicOutput::AtomicOutput(const fs::path& final_path, Kind kind, bool force)
    : final_(absolute_output_path(final_path)), kind_(kind) {
  refuse_existing(final_, force);
  std::error_code ec;
  const fs::path parent = final_.parent_path();
  if (!fs::is_directory(parent, ec) && !fs::create_directories(parent, ec))
    throw Error(ErrorKind::kIo, "cannot create the folder to write into: " + ec.message(),
                parent.string());
  remove_stale_temporaries(final_);
  staging_ = parent / (temp_prefix(final_) + std::to_string(::getpid()));
  fs::remove_all(staging_, ec);
  if (kind_ == Kind::kDirectory && !fs::create_directory(staging_, ec))
    throw_io(staging_.string(), "cannot create", ec.value());
}

AtomicOutput::~AtomicOutput() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void AtomicOutput::commit() {
  if (committed_) return;
  const fs::path parent = final_.parent_path();
  if (kind_ == Kind::kDirectory) sync_directory(staging_);
  std::error_code ec;
  const bool replace_dir = kind_ == Kind::kDirectory && fs::is_directory(final_, ec);
  if (replace_dir) {
    // rename(2) cannot replace a non-empty directory; exchange the two atomically, then delete
    // the old one, which now sits at the staging name.
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, final_.c_str(), RENAME_EXCHANGE) != 0)
      throw_io(final_.string(), "cannot replace", errno);
    committed_ = true;
    sync_directory(parent);
    fs::remove_all(staging_, ec);
    return;
  }
  if (fs::is_directory(final_, ec) || (kind_ == Kind::kDirectory && fs::exists(final_, ec)))
    fs::remove_all(final_, ec);  // a directory where a file goes, or the reverse (with --force)
  if (::rename(staging_.c_str(), final_.c_str()) != 0)
    throw_io(final_.string(), "cannot rename into place", errno);
  committed_ = true;
  sync_directory(parent);
}

void AtomicOutput::commit_as(const fs::path& other) {
  final_ = absolute_output_path(other);
  commit();
}

void AtomicOutput::remove_stale_temporaries(const fs::path& final_path) {
  const fs::path abs = absolute_output_path(final_path);
  for_each_dead_process_file(abs.parent_path(), temp_prefix(abs), [](const fs::path& stale) {
    std::error_code ec;
    fs::remove_all(stale, ec);
  });
}

SideBySidePublication::SideBySidePublication(const fs::path& index_path, IsDataFile is_data_file)
    : index_(absolute_output_path(index_path)), is_data_file_(std::move(is_data_file)) {
  const fs::path dir = index_.parent_path();
  for_each_dead_process_file(dir, publishing_prefix(index_), [&](const fs::path& marker) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(index_, ec))) {
      remove_data_files_except({});
      sync_directory(dir);  // the data files are gone before the marker that explains them
    }
    fs::remove(marker, ec);
  });
}

void SideBySidePublication::publish(AtomicOutput* index, const std::function<void()>& commit_data,
                                    const std::vector<fs::path>& ours, bool force,
                                    const std::vector<fs::path>& superseded) {
  const fs::path dir = index_.parent_path();
  const fs::path marker = dir / (publishing_prefix(index_) + std::to_string(::getpid()));
  OutputFile(marker.string()).close();
  sync_directory(dir);
  std::error_code ec;
  bool removed = fs::remove(index_, ec);
  if (force)
    for (const auto& path : superseded) removed |= fs::remove(path, ec);
  if (removed) sync_directory(dir);
  commit_data();
  if (index) index->commit();
  fs::remove(marker, ec);  // not on an exception: the marker then lets the next run clean up
  if (force) {
    std::set<std::string> keep;
    for (const auto& p : ours) keep.insert(absolute_output_path(p).filename().string());
    remove_data_files_except(keep);
  }
}

bool SideBySidePublication::exists() const {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(index_, ec))) return true;
  for (const auto& entry : fs::directory_iterator(index_.parent_path(), ec))
    if (is_data_file_(entry.path().filename().string())) return true;
  return false;
}

void SideBySidePublication::remove_data_files_except(const std::set<std::string>& keep) const {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(index_.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (is_data_file_(name) && !keep.count(name)) doomed.push_back(entry.path());
  }
  for (const auto& path : doomed) fs::remove(path, ec);
}

}  // namespace tensorferry
