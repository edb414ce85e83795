// Fuzz inputs reach the parsers the way real files do: as files on disk (in /dev/shm when it
// exists), because every reader maps its input.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/error.h"

namespace tensorferry::fuzz {

inline std::filesystem::path fuzz_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    auto d = base / ("tensorferry-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto path = fuzz_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path.string();
}

// Lists and reads every tensor: the whole surface a conversion touches.
inline void read_everything(CheckpointReader& reader) {
  std::vector<std::byte> scratch;
  for (size_t i = 0; i < reader.tensors().size(); ++i) {
    auto bytes = reader.read(i, scratch);
    if (bytes.size() != reader.tensors()[i].nbytes) std::abort();  // the reader lied about sizes
    reader.release(i);
  }
  (void)reader.metadata();
}

}  // namespace tensorferry::fuzz

// Runs `body`; a tensorferry::Error is the expected outcome for bad input, anything else (another
// exception type, a crash, a sanitizer report) is a bug.
#define TENSORFERRY_FUZZ_BODY(body)     \
  try {                                 \
    body;                               \
  } catch (const tensorferry::Error&) { \
  }                                     \
  return 0
