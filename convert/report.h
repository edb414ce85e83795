// The plan and the report of a model conversion, for people (text) and scripts (JSON). The JSON
// has one object per target tensor and per skipped source tensor, so tests and tools can check
// every decision the converter made.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "convert/execute.h"
#include "convert/plan.h"

namespace tensorferry {

// `result` is null for a dry run. `verbose` lists every skipped training-state tensor, which is
// otherwise summed up by kind.
std::string plan_to_text(const Plan& plan, const ConvertResult* result, bool verbose = false);
nlohmann::json plan_to_json(const Plan& plan, const ConvertResult* result);

}  // namespace tensorferry
