#include "cli/json_output.h"

#include <iostream>

namespace tensorferry::cli {
namespace {
thread_local std::optional<nlohmann::json>* captured_json = nullptr;
}  // namespace

std::string schema_id(std::string_view command) {
  return "tensorferry." + std::string(command) + "/1";
}

std::string json_text(const nlohmann::json& doc, int indent) {
  return doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_json(nlohmann::json doc, std::string_view command, int indent) {
  doc["schema"] = schema_id(command);
  if (captured_json)
    *captured_json = std::move(doc);
  else
    std::cout << json_text(doc, indent) << "\n";
}

JsonCapture::JsonCapture(std::optional<nlohmann::json>* target) : previous_(captured_json) {
  captured_json = target;
}

JsonCapture::~JsonCapture() { captured_json = previous_; }

}  // namespace tensorferry::cli
