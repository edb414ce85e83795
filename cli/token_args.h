// Parsing `--tokens 1,2,3` and `--token-types 0,0,1` (verify and forward share them).
#pragma once

#include <string>
#include <vector>

#include "verify/forward.h"

namespace tensorferry::cli {

// One sequence per --tokens value; the i-th --token-types value (if any) goes with the i-th
// --tokens. Throws Error(kUsage) on anything that is not a comma-separated list of integers.
std::vector<verify::TokenSequence> parse_token_sequences(
    const std::vector<std::string>& tokens, const std::vector<std::string>& token_types);

}  // namespace tensorferry::cli
