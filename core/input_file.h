// Opening the files tensorferry reads. Every input, whatever named it (the command line, a shard
// index, a `checkpoint` state file, a TF bundle prefix, a model folder), is opened here, so that
// one check holds for all routes:
//
//  - It must be a regular file. The path is opened with O_NONBLOCK, which returns at once even
//    for a FIFO without a writer, and fstat decides; a FIFO, device or socket is refused as
//    "not a regular file" (exit 3) instead of blocking forever or being read as a stream.
//  - A file found through a folder (the checkpoint, config, vocabulary and shard files tensorferry
//    looks up by name inside a folder it was given) must stay inside that folder: a symbolic link
//    is followed only when its target lies inside the folder, or, for a Hugging Face hub snapshot
//    folder (`.../models--NAME/snapshots/REVISION/`), inside that repository's folder, where the
//    hub keeps the files the snapshot links to (`../../blobs/HASH`). Any other link is refused
//    (exit 3) unless --follow-symlinks was given (set_follow_symlinks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tensorferry {

// A read-only descriptor of a regular file, closed on destruction.
class InputFile {
 public:
  // Throws Error(kBadInput) "not a regular file" for FIFOs, devices and sockets, Error(kUsage)
  // for a directory, Error(kIo) when the system refuses to open or stat it.
  static InputFile open(const std::string& path);
  ~InputFile();
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) = delete;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // The whole file as text; Error(kBadInput) naming `what` when it is larger than `max_bytes`.
  std::string read_all(uint64_t max_bytes, std::string_view what) const;

 private:
  InputFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// The whole of a small input file (config, vocabulary, state file) with the checks of
// InputFile::open; larger than `max_bytes` is Error(kBadInput).
std::string read_input_text(const std::string& path, uint64_t max_bytes, std::string_view what);

// --follow-symlinks: files found through a folder may be symbolic links to anywhere.
void set_follow_symlinks(bool follow);

// `name` (a file name, or a relative path such as "1_Pooling/config.json") inside `folder`, when
// something by that name is there: nullopt when
// nothing is; the path when it is a regular file that the symlink rule above allows; otherwise
// Error(kBadInput) saying why (not a regular file, a link leaving the folder). A dangling link
// counts as present, so the caller's open reports it.
std::optional<std::string> find_in_folder(const std::string& folder, std::string_view name);

// The rule above for a path a file in `folder` names (a TF `checkpoint` state file naming its
// checkpoint): Error(kBadInput) naming `file` when `path` resolves outside the folder, unless
// --follow-symlinks. `how` starts the message ("names the checkpoint").
void check_inside_folder(const std::string& folder, const std::string& path,
                         const std::string& file, std::string_view how);

// The same for a file the caller needs: absence is Error(kIo) "no such file".
std::string require_in_folder(const std::string& folder, std::string_view name);

}  // namespace tensorferry
