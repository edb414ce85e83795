#include "formats/tf_bundle/checkpoint_state.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <filesystem>

#include "core/bytes.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/tf_bundle/checkpoint_state.pb.h"

namespace tensorferry::tf_bundle {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kMaxStateFileSize = 16 << 20;

class CollectFirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (message_.empty())
      message_ = "line " + std::to_string(line + 1) + ", column " + std::to_string(column + 1) +
                 ": " + message;
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace

CheckpointStateFile read_checkpoint_state(const std::string& path) {
  auto file = MappedFile::open(path);
  if (file->size() > kMaxStateFileSize)
    throw_bad_input(path, std::nullopt, "checkpoint state file is larger than 16 MiB");
  CheckpointState state;
  CollectFirstError errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.AllowUnknownField(true);  // fields newer TensorFlow versions may add
  if (!parser.ParseFromString(std::string(as_chars(file->bytes())), &state))
    throw_bad_input(path, std::nullopt,
                    "not a text-format CheckpointState (" + errors.message() + ")");
  if (state.model_checkpoint_path().empty())
    throw_bad_input(path, std::nullopt, "checkpoint state file has no model_checkpoint_path");
  CheckpointStateFile result;
  result.model_checkpoint_path = state.model_checkpoint_path();
  result.all_model_checkpoint_paths.assign(state.all_model_checkpoint_paths().begin(),
                                           state.all_model_checkpoint_paths().end());
  return result;
}

std::string prefix_from_state_file(const std::string& folder) {
  const fs::path state_path = fs::path(folder) / kStateFileName;
  std::error_code ec;
  if (!fs::is_regular_file(state_path, ec))
    throw Error(ErrorKind::kIo, "folder has no `checkpoint` state file", folder);
  const fs::path named = read_checkpoint_state(state_path.string()).model_checkpoint_path;
  const fs::path prefix = named.is_absolute() ? named : fs::path(folder) / named;
  if (fs::exists(prefix.string() + ".index", ec)) return prefix.string();
  const fs::path beside = fs::path(folder) / named.filename();
  if (named.is_absolute() && fs::exists(beside.string() + ".index", ec)) return beside.string();
  throw_bad_input(
      state_path.string(), std::nullopt,
      "names checkpoint " + named.string() + " but " + prefix.string() + ".index does not exist");
}

std::string checkpoint_state_text(const std::string& relative_prefix) {
  CheckpointState state;
  state.set_model_checkpoint_path(relative_prefix);
  state.add_all_model_checkpoint_paths(relative_prefix);
  std::string text;
  google::protobuf::TextFormat::PrintToString(state, &text);
  return text;
}

}  // namespace tensorferry::tf_bundle
