#include "cli/terminal_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "cli/commands.h"

namespace tensorferry::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string duration_text(double seconds) {
  if (!(seconds >= 0) || seconds > 359999) return "?";
  const auto s = static_cast<long>(std::lround(seconds));
  char out[32];
  if (s >= 3600)
    std::snprintf(out, sizeof out, "%ldh%02ldm", s / 3600, s / 60 % 60);
  else if (s >= 60)
    std::snprintf(out, sizeof out, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(out, sizeof out, "%lds", s);
  return out;
}

// Columns of the terminal on `fd`; a line as wide as the terminal would wrap and break the
// in-place redraw, so lines are cut one short of it.
size_t terminal_columns(int fd) {
  winsize size{};
  if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 10) return size.ws_col;
  return 80;
}

}  // namespace

std::string progress_line(std::string_view what, size_t tensors_done, size_t tensors_total,
                          uint64_t bytes_done, uint64_t bytes_total, double seconds) {
  const double fraction =
      bytes_total > 0     ? static_cast<double>(bytes_done) / static_cast<double>(bytes_total)
      : tensors_total > 0 ? static_cast<double>(tensors_done) / static_cast<double>(tensors_total)
                          : 1.0;
  constexpr int kBarWidth = 12;
  const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * kBarWidth);
  char percent[8];
  std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
  std::string line = std::string(what) + " " + percent + " [" + std::string(filled, '#') +
                     std::string(kBarWidth - filled, ' ') + "] " + human_bytes(bytes_done) + "/" +
                     human_bytes(bytes_total) + ", " + std::to_string(tensors_done) + "/" +
                     std::to_string(tensors_total) + " tensors";
  if (seconds > 0 && bytes_done > 0) {
    const double rate = static_cast<double>(bytes_done) / seconds;
    line += ", " + human_bytes(static_cast<uint64_t>(rate)) + "/s, ETA " +
            duration_text(static_cast<double>(bytes_total - bytes_done) / rate);
  } else {
    line += ", ETA ?";
  }
  return line;
}

TerminalProgress::TerminalProgress(int fd) : fd_(fd), started_(Clock::now()) {}

TerminalProgress::~TerminalProgress() { done(); }

void TerminalProgress::begin_tensors(std::string_view what, size_t tensors, uint64_t bytes) {
  what_ = what;
  tensors_total_ = tensors;
  bytes_total_ = bytes;
  tensors_done_ = 0;
  bytes_done_ = 0;
  step_.clear();
  started_ = Clock::now();
  draw(true);
}

void TerminalProgress::tensor_done(uint64_t bytes) {
  ++tensors_done_;
  bytes_done_ += bytes;
  draw(tensors_done_ == tensors_total_);
}

// Steps are drawn every time: there are a few hundred at most, and each is worth seeing.
void TerminalProgress::step(std::string_view what) {
  step_ = what;
  what_.clear();
  draw(true);
}

void TerminalProgress::done() {
  if (shown_) put("");
  shown_ = false;
}

void TerminalProgress::draw(bool force) {
  const auto now = Clock::now();
  if (!force && shown_ && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  if (!what_.empty())
    put(progress_line(what_, tensors_done_, tensors_total_, bytes_done_, bytes_total_,
                      std::chrono::duration<double>(now - started_).count()));
  else
    put(step_);
  shown_ = true;
}

void TerminalProgress::put(const std::string& line) {
  std::string text = line.substr(0, terminal_columns(fd_) - 1);
  text = "\r" + text + "\033[K";  // back to the line's start, draw, erase what is left of it
  // Best effort: a terminal that refuses a write only loses the progress line.
  [[maybe_unused]] const ssize_t written = ::write(fd_, text.data(), text.size());
}

namespace {

thread_local bool progress_overridden = false;
thread_local ProgressSink* progress_override = nullptr;

// Hands everything to a sink the caller owns (the unique_ptr of progress_for_stderr must not).
class ForwardingProgress : public ProgressSink {
 public:
  explicit ForwardingProgress(ProgressSink& to) : to_(to) {}
  void begin_tensors(std::string_view what, size_t tensors, uint64_t bytes) override {
    to_.begin_tensors(what, tensors, bytes);
  }
  void tensor_done(uint64_t bytes) override { to_.tensor_done(bytes); }
  void step(std::string_view what) override { to_.step(what); }
  void done() override { to_.done(); }

 private:
  ProgressSink& to_;
};

}  // namespace

ProgressOverride::ProgressOverride(ProgressSink* sink)
    : previous_active_(progress_overridden), previous_sink_(progress_override) {
  progress_overridden = true;
  progress_override = sink;
}

ProgressOverride::~ProgressOverride() {
  progress_overridden = previous_active_;
  progress_override = previous_sink_;
}

std::unique_ptr<ProgressSink> progress_for_stderr(bool quiet, bool json) {
  if (progress_overridden)
    return progress_override ? std::make_unique<ForwardingProgress>(*progress_override) : nullptr;
  if (quiet || json || !::isatty(STDERR_FILENO)) return nullptr;
  return std::make_unique<TerminalProgress>(STDERR_FILENO);
}

}  // namespace tensorferry::cli
