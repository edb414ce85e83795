// The tokenizer of a Hugging Face model folder as llama.cpp's converter puts it into GGUF
// (tokenizer.ggml.*), read from tokenizer.json, tokenizer_config.json and config.json the way
// convert_hf_to_gguf.py's get_vocab_base and gguf-py's SpecialVocab read them:
//   tokens       every id below vocab_size; ids no token has become "[PAD<id>]" (type unused)
//   token_type   1 normal, 3 control (special added tokens, or ones that look like "<|...|>"),
//                4 user-defined (other added tokens), 5 unused
//   merges       tokenizer.json's model.merges ("a b"; pairs joined with a space, a space inside
//                a part written as U+0120), else merges.txt
//   *_token_id   bos, eos, unk, sep, pad, cls, mask: tokenizer_config.json's token text looked up
//                among tokenizer.json's added tokens, else config.json's <type>_token_id
//   add_*_token  tokenizer_config.json's add_<type>_token booleans, and the leading / trailing
//                special tokens of a TemplateProcessing post-processor
//   chat_template tokenizer_config.json's chat_template, else chat_template.jinja
#pragma once

#include <string>

#include "formats/gguf/gguf_value.h"

namespace tensorferry {

// Appends the tokenizer.ggml.* entries (model and pre given by the architecture) for a folder
// whose config has `vocab_size` entries. Throws kBadInput naming the file for malformed JSON or a
// token id outside the vocabulary; kUsage when the folder has no tokenizer.json.
struct GgufTokenizerStyle {
  std::string model;              // tokenizer.ggml.model ("gpt2": byte-level BPE)
  std::string pre;                // tokenizer.ggml.pre ("gpt-2", "llama-bpe", "qwen2")
  bool add_space_prefix = false;  // copy add_prefix_space (llama)
};
void add_gguf_tokenizer(const std::string& folder, uint64_t vocab_size,
                        const GgufTokenizerStyle& style, GgufMetadata& out);

}  // namespace tensorferry
