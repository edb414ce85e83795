#include "cli/choices.h"

#include <algorithm>

#include "core/error.h"

namespace tensorferry::cli {
namespace {

// Levenshtein distance with adjacent transpositions counted as one edit ("cnovert").
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<std::string> closest_word(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  const std::string typed = lowercase(word);
  if (typed.empty()) return std::nullopt;
  // Up to a third of the word may be wrong, at least one edit: "conver", "inpsect", "safetensor".
  const size_t allowed = std::max<size_t>(1, typed.size() / 3);
  std::optional<std::string> best;
  size_t best_distance = allowed + 1;
  for (const auto& candidate : candidates) {
    const std::string c = lowercase(candidate);
    size_t distance = edit_distance(typed, c);
    if (typed.size() >= 2 && c.starts_with(typed)) distance = std::min<size_t>(distance, 1);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

std::string unknown_choice_message(std::string_view what, std::string_view word,
                                   const std::vector<std::string>& valid) {
  std::string message = "unknown " + std::string(what) + " '" + std::string(word) + "'";
  if (auto guess = closest_word(word, valid)) message += "; did you mean '" + *guess + "'?";
  return message + " (valid: " + join_words(valid) + ")";
}

namespace {

std::vector<std::string> format_words() {
  std::vector<std::string> words;
  for (Format f : {Format::kSafetensors, Format::kPyTorch, Format::kTfBundle, Format::kKerasH5})
    words.emplace_back(format_name(f));
  return words;
}

std::vector<std::string> convention_words() {
  std::vector<std::string> words;
  for (Convention c : kAllConventions) words.emplace_back(convention_name(c));
  return words;
}

[[noreturn]] void throw_unknown_option_value(std::string_view option, std::string_view what,
                                             std::string_view word,
                                             const std::vector<std::string>& valid) {
  throw_usage(std::string(option) + ": " + unknown_choice_message(what, word, valid));
}

}  // namespace

Format parse_format(const std::string& text, std::string_view option) {
  if (auto f = format_from_name(text)) return *f;
  throw_unknown_option_value(option, "format", text, format_words());
}

Convention parse_convention(const std::string& text, std::string_view option) {
  if (auto c = convention_from_name(text)) return *c;
  throw_unknown_option_value(option, "convention", text, convention_words());
}

verify::Convention parse_verify_convention(const std::string& text, std::string_view option) {
  if (auto c = verify::convention_from_name(text)) return *c;
  throw_unknown_option_value(option, "convention", text, convention_words());
}

std::optional<verify::Convention> optional_verify_convention(const std::string& text,
                                                             std::string_view option) {
  if (text.empty()) return std::nullopt;
  return parse_verify_convention(text, option);
}

void throw_unknown_choice(std::string_view what, std::string_view word,
                          const std::vector<std::string>& valid) {
  throw_usage(unknown_choice_message(what, word, valid));
}

}  // namespace tensorferry::cli
