#include "convert/convert_model.h"

#include <filesystem>

#include "core/error.h"
#include "formats/registry.h"

namespace tensorferry {

ModelConvertOutcome convert_model(const std::string& input, const std::string& output,
                                  const ModelConvertOptions& options, bool dry_run,
                                  const PublishCheck& check, ProgressSink* progress) {
  const ModelSource source = detect_model(input, options.from);
  auto reader = open_checkpoint(source.checkpoint, source.format);
  ModelConvertOutcome outcome{make_plan(source, *reader, output, options), std::nullopt};
  if (dry_run) {
    verify_ties(outcome.plan, *reader);
    return outcome;
  }
  // Like `mkdir -p` for the folder the output goes into (the output itself appears atomically).
  std::string folder = output;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();  // "out/" names "out"
  const std::filesystem::path parent = std::filesystem::absolute(folder).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw_io(parent.string(), "cannot create the folder for the output", ec.value());
  outcome.result = execute_plan(outcome.plan, *reader, default_writer, check, progress);
  return outcome;
}

}  // namespace tensorferry
