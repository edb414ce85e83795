#include "verify/stage_spill.h"

#include <sys/types.h>

#include "core/error.h"

namespace tensorferry::verify {

StageSpill::StageSpill() : file_(std::tmpfile()) {}

StageSpill::~StageSpill() {
  if (file_) std::fclose(file_);
}

void StageSpill::put(Stage& stage) {
  std::vector<double>& data = stage.values.data;
  if (!file_ || data.empty() || offsets_.count(stage.name)) return;
  if (fseeko(file_, 0, SEEK_END) != 0) return;
  const off_t at = ftello(file_);
  // A short write leaves garbage after the last recorded offset, never inside a recorded range.
  if (at < 0 || std::fwrite(data.data(), sizeof(double), data.size(), file_) != data.size()) return;
  offsets_.emplace(stage.name, at);
  std::vector<double>().swap(data);
}

void StageSpill::take(Stage& stage) {
  auto it = offsets_.find(stage.name);
  if (it == offsets_.end()) return;
  const auto n = static_cast<size_t>(stage.values.rows * stage.values.cols);
  stage.values.data.resize(n);
  if (fseeko(file_, it->second, SEEK_SET) != 0 ||
      std::fread(stage.values.data.data(), sizeof(double), n, file_) != n)
    throw Error(ErrorKind::kIo, "cannot read back verify's temporary file of stage values");
  offsets_.erase(it);
}

}  // namespace tensorferry::verify
