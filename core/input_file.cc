#include "core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>

#include "core/error.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_follow_symlinks{false};

const char* file_type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

[[noreturn]] void refuse_file_type(const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) throw Error(ErrorKind::kUsage, "is a directory, expected a file", path);
  throw_bad_input(path, std::nullopt,
                  std::string("not a regular file (") + file_type_name(mode) +
                      "): tensorferry reads checkpoints, configs and vocabularies only from "
                      "regular files");
}

// Whether `inner` (canonical) is `outer` (canonical) or lies below it.
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto o = outer.begin();
  auto i = inner.begin();
  for (; o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

// The folder a link found in `folder` may point into: the folder itself, or for a Hugging Face
// hub snapshot (`models--NAME/snapshots/REVISION`) the repository folder holding `blobs/`.
fs::path link_boundary(const fs::path& canonical_folder) {
  const fs::path snapshots = canonical_folder.parent_path();
  const fs::path repository = snapshots.parent_path();
  const std::string repo_name = repository.filename().string();
  if (snapshots.filename() == "snapshots" &&
      (repo_name.starts_with("models--") || repo_name.starts_with("datasets--")))
    return repository;
  return canonical_folder;
}

}  // namespace

void check_inside_folder(const std::string& folder, const std::string& path,
                         const std::string& file, std::string_view how) {
  if (g_follow_symlinks.load()) return;
  std::error_code target_error, folder_error;
  const fs::path target = fs::weakly_canonical(path, target_error);
  const fs::path boundary = link_boundary(
      fs::weakly_canonical(folder.empty() ? fs::path(".") : fs::path(folder), folder_error));
  if (target_error)  // a loop of links, or one too long to resolve
    throw_bad_input(
        file, std::nullopt,
        std::string(how) + " " + path + ", which cannot be resolved: " + target_error.message());
  if (!folder_error && is_within(target, boundary)) return;
  throw_bad_input(file, std::nullopt,
                  std::string(how) + " " + target.string() + ", outside the folder " +
                      boundary.string() +
                      "; tensorferry reads only files within the folder it was given (pass "
                      "--follow-symlinks to read it anyway)");
}

InputFile InputFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait for one forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int e = errno;
    struct stat st {};
    // A socket cannot be opened at all (ENXIO): still a bad input, not the system refusing.
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) refuse_file_type(path, st.st_mode);
    throw_io(path, "cannot open", e);
  }
  InputFile file(path, fd, 0);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_io(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) refuse_file_type(path, st.st_mode);
  // Regular files ignore O_NONBLOCK; clear it anyway so later reads never see EAGAIN.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  file.size_ = static_cast<uint64_t>(st.st_size);
  return file;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

InputFile::InputFile(InputFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

std::string InputFile::read_all(uint64_t max_bytes, std::string_view what) const {
  if (size_ > max_bytes)
    throw_bad_input(path_, std::nullopt,
                    std::string(what) + " is " + std::to_string(size_) +
                        " bytes long, more than the " + std::to_string(max_bytes) +
                        " bytes tensorferry accepts (docs/hardening.md)");
  std::string text(static_cast<size_t>(size_), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n =
        ::pread(fd_, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_io(path_, "cannot read", errno);
    if (n == 0) break;  // shrank while being read: what was there is what is read
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

std::string read_input_text(const std::string& path, uint64_t max_bytes, std::string_view what) {
  return InputFile::open(path).read_all(max_bytes, what);
}

void set_follow_symlinks(bool follow) { g_follow_symlinks.store(follow); }

std::optional<std::string> find_in_folder(const std::string& folder, std::string_view name) {
  const fs::path path = fs::path(folder) / name;
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) return std::nullopt;
  // Resolved (a link in any component of a relative name, e.g. a linked module subfolder), the
  // path must stay inside the folder.
  check_inside_folder(folder, path.string(), path.string(),
                      S_ISLNK(link.st_mode) ? "is a symbolic link to" : "resolves to");
  struct stat target {};
  if (::stat(path.c_str(), &target) != 0) return path.string();  // dangling: open says so
  if (!S_ISREG(target.st_mode)) refuse_file_type(path.string(), target.st_mode);
  return path.string();
}

std::string require_in_folder(const std::string& folder, std::string_view name) {
  auto found = find_in_folder(folder, name);
  if (!found) throw Error(ErrorKind::kIo, "no such file", (fs::path(folder) / name).string());
  return *found;
}

}  // namespace tensorferry
