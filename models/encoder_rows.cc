#include "models/encoder_rows.h"

#include <deque>

namespace tensorferry {

std::string_view keep_name(std::string text) {
  // A deque never moves what it holds, so the views stay valid as it grows.
  static std::deque<std::string> pool;
  return pool.emplace_back(std::move(text));
}

std::string replaced_once(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  if (const size_t at = out.find(from); at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

ParamRow renamed_bert_row(const ParamRow& bert, const BertRowRename& rename) {
  constexpr auto kTf2 = static_cast<size_t>(Convention::kHfTf2);
  constexpr auto kGoogle = static_cast<size_t>(Convention::kGoogleTf1);
  ParamRow row = bert;
  auto width = [&](std::string_view shape) {
    return rename.embedding_width ? keep_name(replaced_once(shape, "H", "E")) : shape;
  };
  row.shape = width(bert.shape);
  for (StoredForm& form : row.stored) form.shape = width(form.shape);
  const std::string tf2 = std::string(rename.tf2) + "/{scope}/" + std::string(rename.tf2) + "/";
  row.stored[kTf2].name =
      keep_name(replaced_once(bert.stored[kTf2].name, "bert/{scope}/bert/", tf2));
  if (rename.google != "bert")
    row.stored[kGoogle].name = keep_name(
        replaced_once(bert.stored[kGoogle].name, "bert/", std::string(rename.google) + "/"));
  return row;
}

const std::vector<BufferRow>& encoder_id_buffers() {
  static const std::vector<BufferRow> rows = {
      {Convention::kHfPyTorch, "{base}embeddings.position_ids",
       "position-ids buffer (arange; rebuilt by the model)"},
      {Convention::kHfPyTorch, "{base}embeddings.token_type_ids",
       "token-type-ids buffer (zeros; rebuilt by the model)"},
  };
  return rows;
}

std::vector<FileRow> with_hf_tokenizer_files(std::vector<FileRow> vocabulary, bool added_tokens) {
  for (std::string_view name :
       {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    vocabulary.push_back({{name, name, "", ""}, false});
  if (added_tokens)
    vocabulary.push_back({{"added_tokens.json", "added_tokens.json", "", ""}, false});
  return vocabulary;
}

}  // namespace tensorferry
