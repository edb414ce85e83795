// The content rules of files carried along with a model conversion (vocabularies, tokenizer and
// sentence-transformers files). They are found and opened by convert/folder_files.h on top of
// core/input_file.h (regular files only, links only within the folder unless --follow-symlinks;
// a special file or a link leaving the folder is refused, never skipped), checked here while
// planning, before anything is written, and then copied as they are.
#pragma once

#include <string>

namespace tensorferry {

// Checks the carried file at `path` against what its file name claims:
//   vocab.json, encoder.json, added_tokens.json  a JSON object of token -> non-negative integer id
//   merges.txt, vocab.bpe                        lines of two space-separated symbols (after an
//                                                optional "#version" line)
//   vocab.txt                                    text lines without NUL bytes
//   any other *.json                             one JSON value (nesting bounded)
// Those are read whole (at most kMaxCarriedFileBytes, core/limits.h); a file of any other name
// is only opened (it must be a regular file) and may be of any size (module weights). Throws
// Error(kBadInput) naming the file and, where there is one, the byte offset.
void check_carried_file(const std::string& path);

// The same rules for text already read (a file a family reads to complete its config).
void check_carried_text(const std::string& text, const std::string& path);

}  // namespace tensorferry
