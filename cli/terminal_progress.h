// The progress bar of `convert` and the running stage of `verify`, drawn on stderr when stderr is
// a terminal: one line, redrawn in place at most ten times a second, erased when done, so what
// the command prints afterwards (and anything in a pipe or a log) is the same as without it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/progress.h"

namespace tensorferry::cli {

class TerminalProgress : public ProgressSink {
 public:
  explicit TerminalProgress(int fd);
  ~TerminalProgress() override;
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  void begin_tensors(std::string_view what, size_t tensors, uint64_t bytes) override;
  void tensor_done(uint64_t bytes) override;
  void step(std::string_view what) override;
  void done() override;

 private:
  using Clock = std::chrono::steady_clock;
  void draw(bool force);
  void put(const std::string& line);

  int fd_;
  std::string what_;
  size_t tensors_total_ = 0, tensors_done_ = 0;
  uint64_t bytes_total_ = 0, bytes_done_ = 0;
  std::string step_;
  bool shown_ = false;
  Clock::time_point started_, last_draw_;
};

// A TerminalProgress on stderr when stderr is a terminal and the output is for a person (not -q,
// not --json); null otherwise, which the library reads as "report nothing". While a
// ProgressOverride is alive on this thread, its sink instead (a library caller's callback).
std::unique_ptr<ProgressSink> progress_for_stderr(bool quiet, bool json);

// Sends the progress of the commands run on this thread to `sink` (null: none) instead of the
// terminal, while alive.
class ProgressOverride {
 public:
  explicit ProgressOverride(ProgressSink* sink);
  ~ProgressOverride();
  ProgressOverride(const ProgressOverride&) = delete;
  ProgressOverride& operator=(const ProgressOverride&) = delete;

 private:
  bool previous_active_;
  ProgressSink* previous_sink_;
};

// The bar line itself (exposed for tests), short enough for 80 columns:
// "writing  42% [#####       ] 1.0 MiB/2.4 MiB, 12/29 tensors, 3.1 MiB/s, ETA 1s".
std::string progress_line(std::string_view what, size_t tensors_done, size_t tensors_total,
                          uint64_t bytes_done, uint64_t bytes_total, double seconds);

}  // namespace tensorferry::cli
