// File-supplied strings as text a terminal shows as it is. A checkpoint is untrusted input, and
// its tensor names, metadata, dtype names and archive entry names reach the plain-text output of
// every command and its error messages: bytes that would act on a terminal (C0 and C1 controls,
// DEL, bidirectional and zero-width format characters) or that are not UTF-8 are shown as escapes
// instead; printable UTF-8 stays as it is, so ordinary names print unchanged. JSON output needs
// none of this (the JSON writer escapes controls; cli/json_output.h replaces invalid UTF-8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tensorferry {

// `bytes` on one line: \n \r \t, \xNN for other control bytes, DEL and bytes that are not part
// of valid UTF-8 (overlong forms, surrogates, past U+10FFFF), \u{XXXX} for C1 controls and
// invisible format characters (bidi overrides and isolates, zero-width characters, BOM, tags).
// A backslash stays as it is, so printable text maps to itself and escaping twice changes
// nothing.
std::string printable(std::string_view bytes);

// Text of several lines (a report, an error message): each line made printable, the '\n' between
// them kept.
std::string printable_lines(std::string_view text);

// `bytes` between double quotes, escaped as printable() does plus \" and \\ (so the quotes
// delimit it). Past `max_bytes` of input it stops at a character boundary and appends
// `... (N bytes)` with the full size.
std::string quoted_printable(std::string_view bytes, size_t max_bytes = SIZE_MAX);

}  // namespace tensorferry
