// Parsing JSON that came from a file tensorferry did not write (config.json, hparams.json, shard
// indexes, vocabularies): nesting bounded first (core/text_nesting.h), so no later recursive
// walk over the value can overflow the stack, and every syntax error reported as Error(kBadInput)
// naming the file and the byte offset.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tensorferry {

// `base_offset` is where `text` starts in `file` (for offsets in messages).
nlohmann::json parse_json_input(std::string_view text, const std::string& file,
                                uint64_t base_offset = 0);

// Whether `text` is one JSON value, without building it (large tokenizer files are only checked,
// not interpreted). Throws like parse_json_input.
void check_json_input(std::string_view text, const std::string& file);

}  // namespace tensorferry
