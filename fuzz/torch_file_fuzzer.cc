// libFuzzer target: any bytes as a torch.save file (zip or legacy). Opening and reading every
// tensor must either succeed or throw tensorferry::Error; crashes, sanitizer reports, leaks and
// timeouts are bugs. Build (the library needs coverage instrumentation too):
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTENSORFERRY_FUZZ=ON -DTENSORFERRY_SANITIZE=ON \
//       -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link && cmake --build build-fuzz -t
//       torch_file_fuzzer
//   build-fuzz/torch_file_fuzzer -max_len=8192 fuzz/corpus-work tests/data/torch
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/torch/torch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("torch_fuzz", 0);
  if (fd < 0) return 0;
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto reader = tensorferry::open_torch(path);
    std::vector<std::byte> scratch;
    for (size_t i = 0; i < reader->tensors().size(); ++i) {
      auto bytes = reader->read(i, scratch);
      if (bytes.size() != reader->tensors()[i].nbytes) __builtin_trap();
    }
  } catch (const tensorferry::Error&) {
  }
  return 0;
}
