#include "formats/keras_h5/hdf5_probe.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "formats/keras_h5/hdf5_handle.h"

namespace tensorferry::h5 {
namespace {

bool probe_child = false;
std::chrono::milliseconds base_timeout(10'000);
constexpr size_t kMaxReport = 4096;  // stays below the pipe buffer, so the child never blocks

uint64_t address_space_in_use() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  statm >> pages;
  return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

void limit_address_space(uint64_t extra) {
  if (extra == 0) return;
  rlimit limit;
  if (::getrlimit(RLIMIT_AS, &limit) != 0) return;
  const uint64_t wanted = address_space_in_use() + extra;
  if (limit.rlim_max != RLIM_INFINITY && wanted > limit.rlim_max) return;
  limit.rlim_cur = wanted;
  ::setrlimit(RLIMIT_AS, &limit);
}

// Child side: the outcome as JSON on `fd`, then _exit (no atexit handlers: libhdf5's would flush
// files the parent has open).
[[noreturn]] void child_main(int fd, const std::function<void()>& probe, uint64_t memory) {
  probe_child = true;
  limit_address_space(memory);
  nlohmann::json report;
  int status = 0;
  try {
    probe();
  } catch (const Error& e) {
    report = {{"kind", static_cast<int>(e.kind())},
              {"message", e.message()},
              {"tensor", e.tensor()},
              {"offset", e.offset() ? nlohmann::json(*e.offset()) : nlohmann::json()}};
    status = 1;
  } catch (const std::bad_alloc&) {
    report = {{"kind", static_cast<int>(ErrorKind::kBadInput)},
              {"message",
               "reading this file's structure needs more memory than any valid "
               "Keras file does (corrupt HDF5?)"}};
    status = 1;
  } catch (...) {
    report = {{"kind", static_cast<int>(ErrorKind::kBadInput)},
              {"message", "unexpected failure while reading the file's structure"}};
    status = 1;
  }
  if (status) {
    std::string text = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (text.size() > kMaxReport) {
      report["message"] = report["message"].get<std::string>().substr(0, kMaxReport / 2);
      text = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    [[maybe_unused]] ssize_t n = ::write(fd, text.data(), std::min(text.size(), kMaxReport));
  }
  ::_exit(status);
}

std::string read_report(int fd) {
  std::string text;
  char buffer[1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      text.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return text;
    }
  }
}

}  // namespace

bool in_probe_child() { return probe_child; }

std::chrono::milliseconds probe_timeout(uint64_t file_size) {
  return base_timeout + std::chrono::milliseconds(file_size / 10'000);
}

void set_probe_base_timeout(std::chrono::milliseconds timeout) { base_timeout = timeout; }

void extend_probe_memory(uint64_t bytes) {
  if (!probe_child) return;
  rlimit limit;
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  const uint64_t wanted = limit.rlim_cur + bytes;
  limit.rlim_cur =
      limit.rlim_max != RLIM_INFINITY && wanted > limit.rlim_max ? limit.rlim_max : wanted;
  ::setrlimit(RLIMIT_AS, &limit);
}

void probe_in_child(const std::string& file, const std::function<void()>& probe,
                    const ProbeLimits& limits) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_io(file, "cannot create a pipe", errno);
  pid_t pid;
  int fork_errno = 0;
  {
    auto lock = lock_library();
    pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      child_main(fds[1], probe, limits.memory);
    }
    fork_errno = errno;
    // Closed under the lock: a probe forked by another thread must not inherit the write end,
    // or reading the report below would wait for that other child to exit too.
    ::close(fds[1]);
  }
  if (pid < 0) {
    ::close(fds[0]);
    throw_io(file, "cannot fork to check the file with libhdf5", fork_errno);
  }

  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  auto pause = std::chrono::microseconds(100);
  int status = 0;
  bool timed_out = false;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      ::close(fds[0]);
      throw_io(file, "cannot wait for the libhdf5 check", errno);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
  const std::string report = read_report(fds[0]);
  ::close(fds[0]);

  if (timed_out)
    throw_bad_input(file, std::nullopt,
                    "libhdf5 did not finish reading this file's structure within " +
                        std::to_string(limits.timeout.count()) + " ms (corrupt HDF5?)");
  if (WIFSIGNALED(status))
    throw_bad_input(file, std::nullopt,
                    std::string("corrupt HDF5 file: libhdf5 crashed reading it (") +
                        ::strsignal(WTERMSIG(status)) + ", in a checking process)");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const auto parsed = nlohmann::json::parse(report, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("kind") || !parsed["kind"].is_number_integer() ||
      !parsed.contains("message") || !parsed["message"].is_string())
    throw_bad_input(file, std::nullopt, "the libhdf5 check of this file failed without a reason");
  const int kind = parsed["kind"].get<int>();
  std::optional<uint64_t> offset;
  if (parsed.contains("offset") && parsed["offset"].is_number_unsigned())
    offset = parsed["offset"].get<uint64_t>();
  throw Error(kind >= 1 && kind <= 4 ? static_cast<ErrorKind>(kind) : ErrorKind::kBadInput,
              parsed["message"].get<std::string>(), file, parsed.value("tensor", std::string()),
              offset);
}

}  // namespace tensorferry::h5
