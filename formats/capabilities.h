// What each container can hold, asked while planning, before anything is written. Each answer
// comes from the predicate the format's writer applies to the same tensor in begin(), so a plan
// that passes these checks is not refused by the writer for its dtypes or names.
#pragma once

#include <string>

#include "core/dtype.h"
#include "formats/registry.h"

namespace tensorferry {

bool format_can_store(Format format, DType dtype);

// Why `name` cannot name a tensor in `format`, or "" when it can.
std::string tensor_name_problem(Format format, const std::string& name);

}  // namespace tensorferry
