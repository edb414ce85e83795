// A bound on how deeply untrusted text nests, checked before any parser sees the text. The
// parsers tensorferry uses for JSON (nlohmann) and protobuf text format build, copy, print or
// destroy nested values recursively, so a few hundred kilobytes of `[[[[...` or `a{a{a{...`
// would exhaust the stack; this scan is iterative and gives the offset of the first bracket
// that goes too deep.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tensorferry {

struct NestingSyntax {
  std::string_view openers;  // characters that open a level
  std::string_view closers;  // characters that close one (any closer closes any opener)
  std::string_view quotes;   // characters that start and end a string (backslash escapes)
  char comment = '\0';       // starts a comment to the end of the line ('\0': none)
};

inline constexpr NestingSyntax kJsonNesting{"[{", "]}", "\"", '\0'};
inline constexpr NestingSyntax kProtoTextNesting{"{<[", "}>]", "\"'", '#'};

// Deep enough for every real config, index, vocabulary and state file (they nest 2 to 6
// levels), shallow enough that every recursive walk over the parsed value stays far from the
// stack limit.
inline constexpr int kMaxTextNesting = 128;

// Throws Error(kBadInput) naming `file` and the offset (`base_offset` + position in `text`) of
// the first opener beyond `max_depth` levels. Returns how many members the outermost container
// holds (its top-level ','-separated items; for JSON, the keys of the top-level object), so
// that a reader can refuse a declared count before building anything.
uint64_t check_nesting(std::string_view text, const NestingSyntax& syntax, const std::string& file,
                       uint64_t base_offset = 0, int max_depth = kMaxTextNesting);

}  // namespace tensorferry
