// How much of a mapping is resident in this process, for tests of what the streaming consumers
// leave mapped (core/mapped_file.h, core/release_touched.h).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace tensorferry {

// Resident kilobytes of this process's mapping that starts at `begin` (/proc/self/smaps: a line
// "START-END perms ..." per mapping, then its "Key: value kB" lines).
inline uint64_t mapped_resident_kib(const void* begin) {
  char start[32];
  std::snprintf(start, sizeof start, "%lx-", reinterpret_cast<unsigned long>(begin));
  std::ifstream smaps("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    const std::string first = line.substr(0, line.find(' '));
    if (first.find('-') != std::string::npos && first.back() != ':') {
      inside = line.rfind(start, 0) == 0;
    } else if (inside && first == "Rss:") {
      return std::stoull(line.substr(4));
    }
  }
  ADD_FAILURE() << "no mapping at " << start;
  return 0;
}

}  // namespace tensorferry
