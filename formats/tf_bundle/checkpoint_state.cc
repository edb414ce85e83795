#include "formats/tf_bundle/checkpoint_state.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <filesystem>

#include "core/error.h"
#include "core/input_file.h"
#include "core/limits.h"
#include "core/text_nesting.h"
#include "formats/tf_bundle/checkpoint_state.pb.h"

namespace tensorferry::tf_bundle {
namespace fs = std::filesystem;
namespace {

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
  const std::string text = read_input_text(path, kMaxStateFileBytes, "the checkpoint state file");
  // The text parser recurses into every nested message, unknown ones included: bound the depth
  // before it runs, with the offset (and tell protobuf the same bound).
  check_nesting(text, kProtoTextNesting, path);
  CheckpointState state;
  CollectFirstError errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.AllowUnknownField(true);  // fields newer TensorFlow versions may add
  parser.SetRecursionLimit(kMaxTextNesting);
  if (!parser.ParseFromString(text, &state))
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
  if (!find_in_folder(folder, kStateFileName))
    throw Error(ErrorKind::kIo, "folder has no `checkpoint` state file", folder);
  const fs::path named = read_checkpoint_state(state_path.string()).model_checkpoint_path;
  const fs::path prefix = named.is_absolute() ? named : fs::path(folder) / named;
  // TF1's Saver records absolute paths, which go stale when the folder is moved or copied:
  // the file of that name inside the folder is the checkpoint then (even when the old path
  // still exists). Whatever is chosen must lie inside the folder.
  const fs::path beside = fs::path(folder) / named.filename();
  fs::path found;
  if (named.is_absolute() && fs::exists(beside.string() + ".index", ec))
    found = beside;
  else if (fs::exists(prefix.string() + ".index", ec))
    found = prefix;
  if (!found.empty()) {
    check_inside_folder(folder, found.string() + ".index", state_path.string(),
                        "names the checkpoint");
    return found.string();
  }
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
