#include "cli/token_args.h"

#include <charconv>

#include "core/error.h"

namespace tensorferry::cli {
namespace {

std::vector<int64_t> parse_ids(const std::string& text, const char* option) {
  std::vector<int64_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || value < 0)
      throw_usage(std::string(option) + " expects comma-separated ids >= 0, got \"" + text + "\"");
    ids.push_back(value);
    pos = end + 1;
  }
  return ids;
}

}  // namespace

std::vector<verify::TokenSequence> parse_token_sequences(
    const std::vector<std::string>& tokens, const std::vector<std::string>& token_types) {
  if (token_types.size() > tokens.size()) throw_usage("more --token-types than --tokens");
  std::vector<verify::TokenSequence> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    verify::TokenSequence seq;
    seq.tokens = parse_ids(tokens[i], "--tokens");
    if (i < token_types.size()) seq.token_types = parse_ids(token_types[i], "--token-types");
    out.push_back(std::move(seq));
  }
  return out;
}

}  // namespace tensorferry::cli
