#include "convert/carried_file.h"

#include <filesystem>

#include "core/error.h"
#include "core/input_file.h"
#include "core/json_input.h"
#include "core/limits.h"

namespace tensorferry {
namespace {

// {"token": id, ...}: what GPT-2's encoder.json / vocab.json and added_tokens.json hold.
void check_token_ids(const std::string& text, const std::string& path) {
  const nlohmann::json doc = parse_json_input(text, path);
  if (!doc.is_object())
    throw_bad_input(path, std::nullopt, "expected a JSON object mapping tokens to ids");
  for (const auto& [token, id] : doc.items())
    if (!id.is_number_unsigned() && !(id.is_number_integer() && id.get<int64_t>() >= 0))
      throw_bad_input(path, std::nullopt,
                      "the id of token " + nlohmann::json(token).dump() +
                          " is not a non-negative integer but " + id.dump());
}

// BPE merges: "#version: 0.2" first (optional), then one merge per line, "left right".
void check_merge_lines(std::string_view text, const std::string& path) {
  size_t start = 0;
  for (size_t line = 0; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view row = text.substr(start, end - start);
    if (row.ends_with('\r')) row.remove_suffix(1);
    const bool header = line == 0 && row.starts_with("#version");
    const size_t space = row.find(' ');
    const bool merge = space != 0 && space != std::string_view::npos && space + 1 < row.size() &&
                       row.find(' ', space + 1) == std::string_view::npos &&
                       row.find('\0') == std::string_view::npos;
    if (!header && !row.empty() && !merge)
      throw_bad_input(path, start,
                      "line " + std::to_string(line + 1) +
                          " is not a merge (two symbols separated by one space)");
    start = end + 1;
  }
}

void check_text_lines(std::string_view text, const std::string& path) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw_bad_input(path, nul, "a NUL byte in a text vocabulary");
}

bool has_content_rule(const std::string& name) {
  return name == "merges.txt" || name == "vocab.bpe" || name == "vocab.txt" ||
         name.ends_with(".json");
}

}  // namespace

void check_carried_text(const std::string& text, const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  if (name == "vocab.json" || name == "encoder.json" || name == "added_tokens.json")
    check_token_ids(text, path);
  else if (name == "merges.txt" || name == "vocab.bpe")
    check_merge_lines(text, path);
  else if (name == "vocab.txt")
    check_text_lines(text, path);
  else if (name.ends_with(".json"))
    check_json_input(text, path);
}

void check_carried_file(const std::string& path) {
  if (!has_content_rule(std::filesystem::path(path).filename().string())) {
    (void)InputFile::open(path);
    return;
  }
  check_carried_text(read_input_text(path, kMaxCarriedFileBytes, "the file"), path);
}

}  // namespace tensorferry
