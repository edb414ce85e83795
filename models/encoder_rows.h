// Rows of the BERT lineage made from BERT's (models/bert/bert_table.cc): RoBERTa, ALBERT and
// ELECTRA keep BERT's embedding (and, but for ALBERT, encoder) modules under other scopes, so
// they rename BERT's rows instead of writing them again. Each derived name is kept alive here
// for the program's life, since the rows hold string_views.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "models/family.h"

namespace tensorferry {

// Keeps `text` for the program's life and returns a view of it.
std::string_view keep_name(std::string text);

// `text` with its first `from` replaced by `to` (unchanged when `from` is absent).
std::string replaced_once(std::string_view text, std::string_view from, std::string_view to);

// How a family stores one of BERT's base rows.
struct BertRowRename {
  // The TF2 main layer: "bert/{scope}/bert/" becomes "<tf2>/{scope}/<tf2>/".
  std::string_view tf2;
  // The first scope of Google's names: "bert/" becomes "<google>/" ("bert" keeps it).
  std::string_view google;
  // The embedding tables are E wide (embedding_size), not H: the rows' "H" becomes "E".
  bool embedding_width = false;
};
ParamRow renamed_bert_row(const ParamRow& bert, const BertRowRename& rename);

// The buffers HF PyTorch modules of the lineage register in their embeddings (position and
// token-type ids), which a state dict may carry: skipped on read, never written.
const std::vector<BufferRow>& encoder_id_buffers();

// The tokenizer files HF's tokenizers save beside a model of the lineage, after the family's
// vocabulary rows `vocabulary` (which may also name a Google release's file), and
// added_tokens.json for the tokenizers that write it.
std::vector<FileRow> with_hf_tokenizer_files(std::vector<FileRow> vocabulary, bool added_tokens);

}  // namespace tensorferry
