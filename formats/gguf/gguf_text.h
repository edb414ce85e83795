// GGUF metadata as text a terminal shows as it is: `inspect` prints what a file says about
// itself, and a file is untrusted input, so keys and strings are escaped (core/printable.h); long
// strings and arrays are cut to their first bytes and entries, with their full size said.
#pragma once

#include <string>

#include "formats/gguf/gguf_header.h"

namespace tensorferry {

// The plain-text metadata section of `inspect`: one line per entry (key, type, value) in file
// order, arrays shortened to their first entries and their count, strings to their first bytes.
std::string gguf_metadata_text(const GgufHeader& header);

}  // namespace tensorferry
