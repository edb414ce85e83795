#include "convert/convert_model.h"

#include "formats/registry.h"

namespace tensorferry {

ModelConvertOutcome convert_model(const std::string& input, const std::string& output,
                                  const ModelConvertOptions& options, bool dry_run) {
  const ModelSource source = detect_model(input, options.from);
  auto reader = open_checkpoint(source.checkpoint, source.format);
  ModelConvertOutcome outcome{make_plan(source, *reader, output, options), std::nullopt};
  if (dry_run) {
    verify_ties(outcome.plan, *reader);
    return outcome;
  }
  outcome.result = execute_plan(outcome.plan, *reader);
  return outcome;
}

}  // namespace tensorferry
