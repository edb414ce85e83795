// GGUF metadata as text a terminal shows as it is: `inspect` prints what a file says about
// itself, and a file is untrusted input. Bytes that would act on a terminal (C0 and C1 controls,
// DEL, bidirectional and zero-width format characters, invalid UTF-8) are escaped; long strings
// and arrays are cut to their first bytes and entries, with their full size said.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "formats/gguf/gguf_header.h"

namespace tensorferry {

// `bytes` between double quotes, escaped: \" \\ \n \r \t, \xNN for other control bytes, DEL and
// bytes that are not UTF-8, \u{XXXX} for C1 controls and invisible format characters; printable
// UTF-8 stays as it is. Past `max_bytes` of input it stops at a character boundary and appends
// `... (N bytes)`.
std::string quoted_terminal_text(std::string_view bytes, size_t max_bytes = SIZE_MAX);
// The same escaping without the quotes and without a limit (metadata keys).
std::string escaped_terminal_text(std::string_view bytes);

// The plain-text metadata section of `inspect`: one line per entry (key, type, value) in file
// order, arrays shortened to their first entries and their count, strings to their first bytes.
std::string gguf_metadata_text(const GgufHeader& header);

}  // namespace tensorferry
