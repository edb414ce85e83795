#include "core/error.h"

#include <cstring>

#include "core/printable.h"

namespace tensorferry {

std::string format_error(const std::string& message, const std::string& file,
                         const std::string& tensor, std::optional<uint64_t> offset) {
  std::string out;
  if (!file.empty()) out += file + ": ";
  if (!tensor.empty()) out += "tensor '" + tensor + "': ";
  if (offset) out += "at byte " + std::to_string(*offset) + ": ";
  out += message;
  // The one place every message passes: names, keys and dtypes in it may come from the file.
  return printable_lines(out);
}

Error::Error(ErrorKind kind, std::string message, std::string file, std::string tensor,
             std::optional<uint64_t> offset)
    : std::runtime_error(format_error(message, file, tensor, offset)),
      kind_(kind),
      message_(std::move(message)),
      file_(std::move(file)),
      tensor_(std::move(tensor)),
      offset_(offset) {}

Error Error::with_context(const std::string& file, const std::string& tensor,
                          std::optional<uint64_t> offset) const {
  return Error(kind_, message_, file_.empty() ? file : file_, tensor_.empty() ? tensor : tensor_,
               offset_ ? offset_ : offset);
}

void throw_bad_input(const std::string& file, std::optional<uint64_t> offset,
                     const std::string& message, const std::string& tensor) {
  throw Error(ErrorKind::kBadInput, message, file, tensor, offset);
}

void throw_io(const std::string& file, const std::string& what, int errno_value) {
  throw Error(ErrorKind::kIo, what + ": " + std::strerror(errno_value), file);
}

void throw_usage(const std::string& message) { throw Error(ErrorKind::kUsage, message); }

}  // namespace tensorferry
