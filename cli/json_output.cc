#include "cli/json_output.h"

#include <iostream>

namespace tensorferry::cli {

std::string schema_id(std::string_view command) {
  return "tensorferry." + std::string(command) + "/1";
}

void print_json(nlohmann::json doc, std::string_view command, int indent) {
  doc["schema"] = schema_id(command);
  std::cout << doc.dump(indent) << "\n";
}

}  // namespace tensorferry::cli
