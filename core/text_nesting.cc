#include "core/text_nesting.h"

#include "core/error.h"

namespace tensorferry {

uint64_t check_nesting(std::string_view text, const NestingSyntax& syntax, const std::string& file,
                       uint64_t base_offset, int max_depth) {
  int depth = 0;
  uint64_t separators = 0;
  bool first_level_content = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (depth == 1 && c != ' ' && c != '\n' && c != '\r' && c != '\t' &&
        syntax.closers.find(c) == std::string_view::npos)
      first_level_content = true;
    if (syntax.quotes.find(c) != std::string_view::npos) {
      // Skip the string; an unterminated one ends the scan (the parser reports it).
      for (++i; i < text.size() && text[i] != c; ++i)
        if (text[i] == '\\') ++i;
    } else if (syntax.comment != '\0' && c == syntax.comment) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (syntax.openers.find(c) != std::string_view::npos) {
      if (++depth > max_depth)
        throw_bad_input(file, base_offset + i,
                        "nests deeper than " + std::to_string(max_depth) +
                            " levels, more than tensorferry accepts (docs/hardening.md)");
    } else if (syntax.closers.find(c) != std::string_view::npos && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 1) {
      ++separators;
    }
  }
  return first_level_content ? separators + 1 : 0;
}

}  // namespace tensorferry
