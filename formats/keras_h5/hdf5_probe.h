// Running libhdf5 on an untrusted file in a child process first.
//
// libhdf5 1.10 trusts its own metadata. Damaged files make it crash, hang or allocate without
// bound (found by tests/cpp/keras_h5_test.cc, CorruptFilesAreErrorsNotCrashes): a corrupt
// variable-length string descriptor in an attribute makes H5Aread allocate whatever length it
// claims (gigabytes) or copy out of bounds from the global heap (H5HG_read, SIGSEGV); a damaged
// global heap collection can make H5HG__protect loop forever. tensorferry cannot fix the
// library, so it first does everything the reader will ask of libhdf5 in a forked child with a
// memory limit and a deadline. Only when the child succeeds does this process parse the file
// itself, and then libhdf5 does exactly what it did in the child (same bytes, same calls). When
// the child fails, its Error is rethrown here; when it dies of a signal or runs out of time, the
// file is reported as bad input.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace tensorferry::h5 {

struct ProbeLimits {
  std::chrono::milliseconds timeout;
  uint64_t memory = 0;  // bytes of address space the probe may add; 0 = no limit
};

// Runs `probe` in a forked child under `limits`, holding the libhdf5 lock across the fork so that
// no other thread is inside libhdf5 when its state is copied. Returns when the probe finished
// without throwing; rethrows the probe's Error; throws Error(kBadInput) naming `file` when the
// child crashed, exceeded its memory, or did not finish in time.
void probe_in_child(const std::string& file, const std::function<void()>& probe,
                    const ProbeLimits& limits);

// A deadline for probing a file of `file_size` bytes: a base (10 s), plus 1 s per 10 MB for the
// tensors a probe reads through libhdf5.
std::chrono::milliseconds probe_timeout(uint64_t file_size);
// Changes the base; tests that feed libhdf5 many damaged files shorten it.
void set_probe_base_timeout(std::chrono::milliseconds timeout);

// Inside a probe: allows `bytes` more address space (for a tensor the probe is about to read).
void extend_probe_memory(uint64_t bytes);

// True in a probing child: lock_library() does not lock there (the lock's owner thread, the
// parent's, does not exist in the child).
bool in_probe_child();

}  // namespace tensorferry::h5
