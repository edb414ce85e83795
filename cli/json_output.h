// Every `--json` document is a versioned contract: it carries "schema": "tensorferry.<command>/1"
// and validates against docs/schemas/<command>.schema.json. A change that would break a reader of
// version 1 (a field removed, renamed or retyped) needs a new version; adding fields does not.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace tensorferry::cli {

// "tensorferry.<command>/1"
std::string schema_id(std::string_view command);

// Adds the schema member and prints the document on stdout (indent -1: on one line).
void print_json(nlohmann::json doc, std::string_view command, int indent = 2);

}  // namespace tensorferry::cli
