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
  // The folder the output goes into is created (`mkdir -p`) once the output is known to fit.
  outcome.result = execute_plan(outcome.plan, *reader, default_writer, check, progress);
  return outcome;
}

}  // namespace tensorferry
