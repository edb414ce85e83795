// Every `--json` document is a versioned contract: it carries "schema": "tensorferry.<command>/1"
// and validates against docs/schemas/<command>.schema.json. A change that would break a reader of
// version 1 (a field removed, renamed or retyped) needs a new version; adding fields does not.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tensorferry::cli {

// "tensorferry.<command>/1"
std::string schema_id(std::string_view command);

// `doc` as JSON text (indent -1: on one line). Controls in strings are escaped by the JSON writer;
// a string that is not UTF-8 (a tensor name from a hostile file) has its invalid bytes replaced by
// U+FFFD, so the text stays valid JSON rather than the writer throwing.
std::string json_text(const nlohmann::json& doc, int indent = -1);

// Adds the schema member and prints the document on stdout (indent -1: on one line), or hands it
// to the JsonCapture active on this thread.
void print_json(nlohmann::json doc, std::string_view command, int indent = 2);

// While alive, print_json on this thread stores its document in `*target` instead of printing
// it: how the library (cli/app.h) gets the document a command would print.
class JsonCapture {
 public:
  explicit JsonCapture(std::optional<nlohmann::json>* target);
  ~JsonCapture();
  JsonCapture(const JsonCapture&) = delete;
  JsonCapture& operator=(const JsonCapture&) = delete;

 private:
  std::optional<nlohmann::json>* previous_;
};

}  // namespace tensorferry::cli
