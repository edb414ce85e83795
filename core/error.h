// Errors that say where: every failure names the file, the tensor (when one is involved) and the
// byte offset (when one is known), and carries the process exit code the CLI reports for it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace tensorferry {

// Exit codes of the command-line tool; also the error classes of the library.
enum class ErrorKind : int {
  kVerifyFailed = 1,  // a conversion was checked and does not hold
  kUsage = 2,         // the caller asked for something that cannot be done
  kBadInput = 3,      // a file is malformed, hostile, truncated or unsupported
  kIo = 4,            // the operating system refused (open, read, write, rename, disk full)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string file = {}, std::string tensor = {},
        std::optional<uint64_t> offset = std::nullopt);

  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }
  const std::string& message() const { return message_; }
  const std::string& file() const { return file_; }
  const std::string& tensor() const { return tensor_; }
  std::optional<uint64_t> offset() const { return offset_; }

  // Returns a copy with context filled in where this error had none; used by callers higher up
  // that know the file or tensor a lower layer did not.
  Error with_context(const std::string& file, const std::string& tensor = {},
                     std::optional<uint64_t> offset = std::nullopt) const;

 private:
  ErrorKind kind_;
  std::string message_;
  std::string file_;
  std::string tensor_;
  std::optional<uint64_t> offset_;
};

// "FILE: tensor 'NAME': at byte N: MESSAGE", omitting what is unknown; made printable
// (core/printable.h), since the name and parts of the message may come from a hostile file.
// Error::what() is this text; file(), tensor() and message() keep the bytes as they were.
std::string format_error(const std::string& message, const std::string& file,
                         const std::string& tensor, std::optional<uint64_t> offset);

[[noreturn]] void throw_bad_input(const std::string& file, std::optional<uint64_t> offset,
                                  const std::string& message, const std::string& tensor = {});
[[noreturn]] void throw_io(const std::string& file, const std::string& what, int errno_value);
[[noreturn]] void throw_usage(const std::string& message);

}  // namespace tensorferry
