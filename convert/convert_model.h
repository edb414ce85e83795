// `tensorferry convert SRC DST --to CONVENTION`: detect -> plan -> (dry run | execute).
#pragma once

#include <optional>
#include <string>

#include "convert/execute.h"
#include "convert/plan.h"

namespace tensorferry {

struct ModelConvertOutcome {
  Plan plan;
  std::optional<ConvertResult> result;  // empty for a dry run
};

// `check` decides where the written folder is published (see PublishCheck); without it, at
// `output`. `progress`, when given, hears of every tensor written.
ModelConvertOutcome convert_model(const std::string& input, const std::string& output,
                                  const ModelConvertOptions& options, bool dry_run,
                                  const PublishCheck& check = {}, ProgressSink* progress = nullptr);

}  // namespace tensorferry
