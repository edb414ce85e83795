// Which family and naming convention a model folder follows, decided from the files in it
// (config file names, config contents, checkpoint file names). `--from` overrides the
// convention; the family always comes from the config.
#pragma once

#include <optional>
#include <string>

#include "formats/registry.h"
#include "models/family.h"

namespace tensorferry {

struct ModelSource {
  const Family* family = nullptr;
  Convention convention = Convention::kHfPyTorch;
  std::string folder;       // the model folder
  std::string config_path;  // its config file
  std::string checkpoint;   // what to open: a file, a shard index or a TF bundle prefix
  Format format = Format::kSafetensors;
};

// `path` is a model folder, or a checkpoint file inside one. Throws kBadInput / kUsage saying
// what was looked for when nothing fits.
ModelSource detect_model(const std::string& path, std::optional<Convention> from = std::nullopt);

// A config file's text (at most kMaxConfigFileBytes, core/limits.h; a special file is refused).
std::string read_config_file(const std::string& path);

}  // namespace tensorferry
