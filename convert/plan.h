// The plan of a model conversion, as data: every target tensor with the source tensor it comes
// from and the layout step between them, every source tensor left out with the reason, the tied
// tensors to check, the config and vocabulary files to write. Planning reads no tensor data
// except the tied pairs it compares (verify_ties); `--dry-run` prints the plan and stops.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "convert/detect.h"
#include "core/checkpoint.h"
#include "core/training_state.h"
#include "formats/registry.h"
#include "models/family.h"

namespace tensorferry {

enum class Step : uint8_t {
  kCopy,       // same shape, same bytes
  kReshape,    // same bytes, another shape
  kTranspose,  // the 2-D [rows, cols] view of the source, transposed
  kConstant,   // no source: bytes given in the plan (global_step 0)
};
std::string_view step_name(Step step);

struct PlanEntry {
  std::string canonical;  // the canonical parameter ("" for extras such as global_step)
  std::string group;
  std::optional<size_t> source;  // index into the reader's tensors()
  std::string source_name;
  DType source_dtype = DType::kF32;
  Shape source_shape;
  TensorInfo target;  // name, dtype, shape, nbytes as written
  Step step = Step::kCopy;
  uint64_t rows = 0, cols = 0;      // kTranspose: the source viewed as [rows, cols]
  std::vector<std::byte> constant;  // kConstant
  std::string note;                 // "Keras duplicate of ...", "from the source's global_step"
};

struct SkippedTensor {
  std::string name;
  std::string reason;
  std::optional<TrainingState> state;  // set for optimizer slots, counters, the object graph
};

// A stored copy of a parameter that must equal it (checked before anything is written).
struct TiePair {
  size_t alias = 0, origin = 0;  // reader indices
  std::string alias_name, origin_name;
};

struct FileCopy {
  std::string source;  // path (inside the source folder)
  std::string target;  // path relative to the output folder ("vocab.txt", "1_Pooling/config.json")
};

// A file (or folder) of the source folder that the output does not get, and why.
struct LeftBehind {
  std::string name;  // relative to the source folder; folders end with '/'
  std::string reason;
};

struct ModelConvertOptions {
  std::optional<Convention> from;
  Convention to = Convention::kHfPyTorch;
  std::optional<DType> dtype;  // cast floating tensors; nullopt = bit-exact
  uint64_t shard_size = 0;     // 0 = one file
  bool force = false;
  bool allow_expansion = false;             // see core/output_space.h
  Format hf_format = Format::kSafetensors;  // hf-pytorch output container
  std::string hf_class;                     // HF class for HF targets; "" = from config/heads
  bool verify = true;  // the reference forward pass follows: its config must be readable
};

struct Plan {
  const Family* family = nullptr;
  ModelSource source;
  std::string source_format;  // the reader's format name
  Convention to = Convention::kHfPyTorch;
  std::string output;  // the output folder
  Format target_format = Format::kSafetensors;
  std::string target_file;  // checkpoint file name inside the output folder
  std::string hf_class;     // the HF class written (HF targets) or the source's (HF sources)
  std::vector<std::string> groups;         // parts of the model found in the source
  std::vector<std::string> target_groups;  // parts written
  std::vector<std::string> tf2_layers;     // hf-tf2: top-level Keras layers, in order
  ModelConfig config;
  std::string config_name, config_text;
  std::vector<PlanEntry> entries;  // in write order
  std::vector<SkippedTensor> skipped;
  std::vector<TiePair> ties;
  std::vector<FileCopy> files;
  std::vector<GeneratedFile> generated;  // made from the config (generation_config.json)
  std::vector<LeftBehind> left_behind;   // every other file of the source folder
  std::vector<std::string> notes;        // what the user should know (warnings included)
  std::optional<DType> cast;
  uint64_t shard_size = 0;
  bool force = false;
  bool allow_expansion = false;
};

// Builds the plan for converting the model `source` (read through `reader`) into `output`.
// Throws kBadInput for a source that does not match its config or table (wrong shapes, missing
// tensors, duplicates), kUsage for what the target cannot express.
Plan make_plan(const ModelSource& source, CheckpointReader& reader, const std::string& output,
               const ModelConvertOptions& options);

// Reads each tied pair and throws kBadInput naming both tensors when they differ.
void verify_ties(const Plan& plan, CheckpointReader& reader);

}  // namespace tensorferry
