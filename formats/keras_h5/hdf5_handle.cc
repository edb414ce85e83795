#include "formats/keras_h5/hdf5_handle.h"

#include <string_view>
#include <vector>

#include "formats/keras_h5/hdf5_probe.h"

namespace tensorferry::h5 {

std::unique_lock<std::recursive_mutex> lock_library() {
  static std::recursive_mutex mutex;
  if (in_probe_child()) return {};  // single-threaded, and the parent's lock is not ours
  std::unique_lock<std::recursive_mutex> lock(mutex);
  static const bool silenced = [] {
    // Before anything initialises the library: no H5close() at exit. A file whose write failed
    // (a full disk) cannot be closed (the flush fails again), and libhdf5 1.10 then crashes
    // closing it a second time from its atexit handler, after the error has been reported.
    // Every file tensorferry writes is closed explicitly before it is published, so nothing
    // is lost by skipping the library's own shutdown.
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
  return lock;
}

bool Handle::reset() {
  if (id_ < 0) return true;
  auto lock = lock_library();  // handles may go away during unwinding, outside any lock
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  if (H5Iis_valid(id) <= 0) return true;
  if (H5Idec_ref(id) < 0) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  return true;
}

namespace {

std::string message_text(hid_t message_id) {
  char text[256] = {};
  if (H5Eget_msg(message_id, nullptr, text, sizeof text) < 0) return {};
  return text;
}

// The sec2 driver describes a failed system call over several lines with the time, buffer
// addresses and sizes ("file write failed: time = ..., errno = 28, error message = 'No space left
// on device', buf = 0x..."); only what failed and the system's message are worth reporting.
std::string condense_system_error(const std::string& desc) {
  constexpr std::string_view kMessage = "error message = '";
  const size_t at = desc.find(kMessage);
  const size_t what_end = desc.find(": time = ");
  if (at == std::string::npos || what_end == std::string::npos) return desc;
  const size_t start = at + kMessage.size();
  const size_t end = desc.find('\'', start);
  if (end == std::string::npos) return desc;
  return desc.substr(0, what_end) + ": " + desc.substr(start, end - start);
}

herr_t collect(unsigned /*n*/, const H5E_error2_t* error, void* client) {
  auto* lines = static_cast<std::vector<std::string>*>(client);
  std::string line = condense_system_error(error->desc ? error->desc : "");
  const std::string minor = message_text(error->min_num);
  if (!minor.empty() && line.find(minor) == std::string::npos)
    line += line.empty() ? minor : " (" + minor + ")";
  if (!line.empty()) lines->push_back(std::move(line));
  return 0;
}

}  // namespace

std::string take_error_stack() {
  std::vector<std::string> lines;
  // Walking upward starts at the innermost call, whose message says what actually went wrong;
  // the outer frames mostly repeat "unable to open dataset".
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &lines);
  H5Eclear2(H5E_DEFAULT);
  std::string out;
  for (size_t i = 0; i < lines.size() && i < 3; ++i) {
    if (i) out += "; ";
    out += lines[i];
  }
  return out.empty() ? "HDF5 reported no details" : out;
}

void throw_error(ErrorKind kind, const std::string& file, const std::string& what,
                 const std::string& tensor) {
  throw Error(kind, what + ": " + take_error_stack(), file, tensor);
}

hid_t check(hid_t id, ErrorKind kind, const std::string& file, const std::string& what,
            const std::string& tensor) {
  if (id < 0) throw_error(kind, file, what, tensor);
  return id;
}

void check(herr_t status, ErrorKind kind, const std::string& file, const std::string& what,
           const std::string& tensor) {
  if (status < 0) throw_error(kind, file, what, tensor);
}

}  // namespace tensorferry::h5
