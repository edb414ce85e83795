// Where verify keeps A's stage values until B's pass reaches the same stage. Held in memory they
// grow with layers × width × tokens (≈110 MB for GPT-2-XL, GBs for wider models), so they wait in
// an unlinked temporary file instead, which the page cache holds or writes out as it likes
// without counting against the process.
#pragma once

#include <cstdio>
#include <map>
#include <string>

#include "verify/forward.h"

namespace tensorferry::verify {

class StageSpill {
 public:
  StageSpill();
  ~StageSpill();
  StageSpill(const StageSpill&) = delete;
  StageSpill& operator=(const StageSpill&) = delete;

  // Moves the stage's values to the file (rows and cols stay). When no temporary file can be
  // made or written, or a stage of that name was already put, the values simply stay in memory.
  void put(Stage& stage);
  // Brings back the values put() moved out for this stage's name; nothing when it kept them.
  // Error(kIo) when the file cannot be read back.
  void take(Stage& stage);

 private:
  std::FILE* file_ = nullptr;
  std::map<std::string, off_t> offsets_;  // stage name -> where its values start
};

}  // namespace tensorferry::verify
