// Thin C++ around the HDF5 C library: owned ids, the library lock, and the HDF5 error stack
// turned into tensorferry errors.
//
// The serial libhdf5 Debian ships is not thread-safe, so every call into it must hold
// `lock_library()`. The lock is recursive because helpers that take it call each other.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <string>
#include <utility>

#include "core/error.h"

namespace tensorferry::h5 {

// Holds the library lock; the first call also stops HDF5 from printing its error stack to stderr
// (H5Eset_auto), because every failure is reported as an Error instead.
std::unique_lock<std::recursive_mutex> lock_library();

// An owned HDF5 id (file, group, dataset, attribute, datatype, dataspace, property list), closed
// when the Handle goes away. A negative id means "failed" or "none".
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes the id; returns false when HDF5 reports an error (a file that could not be flushed).
  bool reset();
  // Gives up ownership without closing.
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// The HDF5 error stack as one line, most specific message first, and clears it.
std::string take_error_stack();

// Throws Error(kind) with "<what>: <HDF5 error stack>".
[[noreturn]] void throw_error(ErrorKind kind, const std::string& file, const std::string& what,
                              const std::string& tensor = {});

// `id` when it is a valid id, otherwise throws as throw_error does.
hid_t check(hid_t id, ErrorKind kind, const std::string& file, const std::string& what,
            const std::string& tensor = {});
void check(herr_t status, ErrorKind kind, const std::string& file, const std::string& what,
           const std::string& tensor = {});

}  // namespace tensorferry::h5
