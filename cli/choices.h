// Words a user picks from a fixed list (subcommands, formats, conventions, dtypes, classes). A
// mistyped word is answered with the closest valid one and the whole list, so the next attempt
// works.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/registry.h"
#include "models/family.h"
#include "verify/convention.h"

namespace tensorferry::cli {

// The candidate within a small edit distance of `word` (or that `word` is a prefix of), if any.
std::optional<std::string> closest_word(std::string_view word,
                                        const std::vector<std::string>& candidates);

// "unknown WHAT 'WORD'; did you mean 'X'? (valid: A, B, C)"
std::string unknown_choice_message(std::string_view what, std::string_view word,
                                   const std::vector<std::string>& valid);
[[noreturn]] void throw_unknown_choice(std::string_view what, std::string_view word,
                                       const std::vector<std::string>& valid);

std::string join_words(const std::vector<std::string>& words);  // "a, b, c"

// The CLI's fixed vocabularies, parsed with the message above on a mistake. `option` names the
// option in the message ("--format").
Format parse_format(const std::string& text, std::string_view option);
Convention parse_convention(const std::string& text, std::string_view option);
verify::Convention parse_verify_convention(const std::string& text, std::string_view option);
// Empty text: nothing chosen.
std::optional<verify::Convention> optional_verify_convention(const std::string& text,
                                                             std::string_view option);

}  // namespace tensorferry::cli
