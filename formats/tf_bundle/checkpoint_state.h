// The `checkpoint` state file: a text-format CheckpointState naming the newest checkpoint prefix
// of a folder, written by TensorFlow's Python layer (Saver.save, Checkpoint.save, save_weights).
#pragma once

#include <string>
#include <vector>

namespace tensorferry::tf_bundle {

constexpr const char* kStateFileName = "checkpoint";

struct CheckpointStateFile {
  std::string model_checkpoint_path;  // as written: relative to the folder, or absolute
  std::vector<std::string> all_model_checkpoint_paths;
};

// Parses `path`. Throws Error(kBadInput) on a parse error or an empty model_checkpoint_path.
CheckpointStateFile read_checkpoint_state(const std::string& path);

// The bundle prefix `folder`/checkpoint points at. Relative paths are taken relative to the
// folder; an absolute path whose .index is missing falls back to the same file name inside the
// folder (checkpoints written by TF1 Saver carry absolute paths and are often moved).
std::string prefix_from_state_file(const std::string& folder);

// The text TensorFlow writes for a single checkpoint `relative_prefix`.
std::string checkpoint_state_text(const std::string& relative_prefix);

}  // namespace tensorferry::tf_bundle
