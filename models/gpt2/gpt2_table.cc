// The GPT-2 table. Shape symbols: V vocab_size (n_vocab), P n_positions (n_ctx), E n_embd,
// I the MLP width (n_inner, or 4E when null). Verified against transformers 4.57.6 (PyTorch and
// TF2 save_pretrained) and openai/gpt-2 src/model.py; see docs/conversions.md.
//
// No transposes anywhere: OpenAI's conv1d, HF's Conv1D and TFConv1D all store [in, out]. OpenAI
// keeps a leading 1 on the weights ([1, in, out]); TFConv1D keeps one on the biases ([1, out]).
#include "models/gpt2/gpt2.h"

namespace tensorferry {

namespace {
constexpr Layout kSame = Layout::kSame;
}  // namespace

const std::vector<GroupInfo>& Gpt2Family::groups() const {
  static const std::vector<GroupInfo> groups = {
      {"base", "GPT-2 transformer (embeddings, blocks, final LayerNorm)"},
      {"untied_head",
       "an LM head that is not tied to wte (lm_head.weight, tie_word_embeddings "
       "false)"},
  };
  return groups;
}

const std::vector<ParamRow>& Gpt2Family::params() const {
  // Columns in Convention order: hf-pytorch, hf-tf2, openai-tf1, google-tf1 (none).
#define TF2 "transformer/{scope}/transformer/"
  // One row per parameter, kept as a table.
  // clang-format off
  static const std::vector<ParamRow> rows = {
      {"base", false, "wte.weight", "V,E",
       {{{"{base}wte.weight", "V,E", kSame},
         {TF2 "wte/embeddings:0", "V,E", kSame},
         {"model/wte", "V,E", kSame},
         {}}}},
      {"base", false, "wpe.weight", "P,E",
       {{{"{base}wpe.weight", "P,E", kSame},
         {TF2 "wpe/embeddings:0", "P,E", kSame},
         {"model/wpe", "P,E", kSame},
         {}}}},
      {"base", true, "h.{i}.ln_1.weight", "E",
       {{{"{base}h.{i}.ln_1.weight", "E", kSame},
         {TF2 "h_._{i}/ln_1/gamma:0", "E", kSame},
         {"model/h{i}/ln_1/g", "E", kSame},
         {}}}},
      {"base", true, "h.{i}.ln_1.bias", "E",
       {{{"{base}h.{i}.ln_1.bias", "E", kSame},
         {TF2 "h_._{i}/ln_1/beta:0", "E", kSame},
         {"model/h{i}/ln_1/b", "E", kSame},
         {}}}},
      {"base", true, "h.{i}.attn.c_attn.weight", "E,3E",
       {{{"{base}h.{i}.attn.c_attn.weight", "E,3E", kSame},
         {TF2 "h_._{i}/attn/c_attn/weight:0", "E,3E", kSame},
         {"model/h{i}/attn/c_attn/w", "1,E,3E", kSame},
         {}}}},
      {"base", true, "h.{i}.attn.c_attn.bias", "3E",
       {{{"{base}h.{i}.attn.c_attn.bias", "3E", kSame},
         {TF2 "h_._{i}/attn/c_attn/bias:0", "1,3E", kSame},
         {"model/h{i}/attn/c_attn/b", "3E", kSame},
         {}}}},
      {"base", true, "h.{i}.attn.c_proj.weight", "E,E",
       {{{"{base}h.{i}.attn.c_proj.weight", "E,E", kSame},
         {TF2 "h_._{i}/attn/c_proj/weight:0", "E,E", kSame},
         {"model/h{i}/attn/c_proj/w", "1,E,E", kSame},
         {}}}},
      {"base", true, "h.{i}.attn.c_proj.bias", "E",
       {{{"{base}h.{i}.attn.c_proj.bias", "E", kSame},
         {TF2 "h_._{i}/attn/c_proj/bias:0", "1,E", kSame},
         {"model/h{i}/attn/c_proj/b", "E", kSame},
         {}}}},
      {"base", true, "h.{i}.ln_2.weight", "E",
       {{{"{base}h.{i}.ln_2.weight", "E", kSame},
         {TF2 "h_._{i}/ln_2/gamma:0", "E", kSame},
         {"model/h{i}/ln_2/g", "E", kSame},
         {}}}},
      {"base", true, "h.{i}.ln_2.bias", "E",
       {{{"{base}h.{i}.ln_2.bias", "E", kSame},
         {TF2 "h_._{i}/ln_2/beta:0", "E", kSame},
         {"model/h{i}/ln_2/b", "E", kSame},
         {}}}},
      {"base", true, "h.{i}.mlp.c_fc.weight", "E,I",
       {{{"{base}h.{i}.mlp.c_fc.weight", "E,I", kSame},
         {TF2 "h_._{i}/mlp/c_fc/weight:0", "E,I", kSame},
         {"model/h{i}/mlp/c_fc/w", "1,E,I", kSame},
         {}}}},
      {"base", true, "h.{i}.mlp.c_fc.bias", "I",
       {{{"{base}h.{i}.mlp.c_fc.bias", "I", kSame},
         {TF2 "h_._{i}/mlp/c_fc/bias:0", "1,I", kSame},
         {"model/h{i}/mlp/c_fc/b", "I", kSame},
         {}}}},
      {"base", true, "h.{i}.mlp.c_proj.weight", "I,E",
       {{{"{base}h.{i}.mlp.c_proj.weight", "I,E", kSame},
         {TF2 "h_._{i}/mlp/c_proj/weight:0", "I,E", kSame},
         {"model/h{i}/mlp/c_proj/w", "1,I,E", kSame},
         {}}}},
      {"base", true, "h.{i}.mlp.c_proj.bias", "E",
       {{{"{base}h.{i}.mlp.c_proj.bias", "E", kSame},
         {TF2 "h_._{i}/mlp/c_proj/bias:0", "1,E", kSame},
         {"model/h{i}/mlp/c_proj/b", "E", kSame},
         {}}}},
      {"base", false, "ln_f.weight", "E",
       {{{"{base}ln_f.weight", "E", kSame},
         {TF2 "ln_f/gamma:0", "E", kSame},
         {"model/ln_f/g", "E", kSame},
         {}}}},
      {"base", false, "ln_f.bias", "E",
       {{{"{base}ln_f.bias", "E", kSame},
         {TF2 "ln_f/beta:0", "E", kSame},
         {"model/ln_f/b", "E", kSame},
         {}}}},
      // Only with tie_word_embeddings false; TFGPT2LMHeadModel and OpenAI's model.py always
      // compute logits with wte, so only HF PyTorch can hold it.
      {"untied_head", false, "lm_head.weight", "V,E",
       {{{"lm_head.weight", "V,E", kSame}, {}, {}, {}}}},
  };
  // clang-format on
#undef TF2
  return rows;
}

const std::vector<AliasRow>& Gpt2Family::aliases() const {
  // GPT2LMHeadModel state dicts hold lm_head.weight as a second name of wte (torch.save keeps
  // it; save_pretrained to safetensors drops it). Accepted on read after an equality check.
  static const std::vector<AliasRow> rows = {
      {Convention::kHfPyTorch, "", "lm_head.weight", "wte.weight", false},
  };
  return rows;
}

const std::vector<BufferRow>& Gpt2Family::buffers() const {
  static const std::vector<BufferRow> rows = {
      {Convention::kHfPyTorch, "{base}h.{i}.attn.bias",
       "causal-mask buffer (saved by transformers < 4.31, rebuilt by the model)"},
      {Convention::kHfPyTorch, "{base}h.{i}.attn.masked_bias",
       "mask-fill constant buffer (saved by transformers < 4.31, rebuilt by the model)"},
  };
  return rows;
}

const std::vector<HfClass>& Gpt2Family::hf_classes() const {
  static const std::vector<HfClass> classes = {
      {"GPT2LMHeadModel",
       {"base", "untied_head"},
       {"untied_head"},
       "transformer.",
       "tfgpt2lm_head_model",
       {"transformer"}},
      {"GPT2Model", {"base"}, {}, "", "tfgpt2_model", {"transformer"}},
  };
  return classes;
}

const std::vector<FileRow>& Gpt2Family::files() const {
  // vocab.json/merges.txt and encoder.json/vocab.bpe are the same data (both readers json-load
  // the first and split the second on newlines), so they are copied byte for byte.
  static const std::vector<FileRow> rows = {
      {{"vocab.json", "vocab.json", "encoder.json", ""}, false},
      {{"merges.txt", "merges.txt", "vocab.bpe", ""}, false},
      {{"tokenizer.json", "tokenizer.json", "", ""}, false},
      {{"tokenizer_config.json", "tokenizer_config.json", "", ""}, false},
      {{"special_tokens_map.json", "special_tokens_map.json", "", ""}, false},
      {{"added_tokens.json", "added_tokens.json", "", ""}, false},
      {{"generation_config.json", "generation_config.json", "", ""}, false},
  };
  return rows;
}

std::string_view Gpt2Family::config_file(Convention c) const {
  switch (c) {
    case Convention::kHfPyTorch:
    case Convention::kHfTf2: return "config.json";
    case Convention::kOpenAiTf1: return "hparams.json";
    case Convention::kGoogleTf1: return "";
  }
  return "";
}

std::string Gpt2Family::normalize_source_name(Convention c, const std::string& name) const {
  // transformers 4.x before the Keras-Embedding rewrite saved the TFSharedEmbeddings table as
  // "wte/weight:0"; its h5 loader retries "embeddings:0" names as "weight:0", so both load.
  static const std::string kOld = "/transformer/wte/weight:0";
  if (c == Convention::kHfTf2 && name.size() > kOld.size() &&
      name.compare(name.size() - kOld.size(), kOld.size(), kOld) == 0)
    return name.substr(0, name.size() - 8) + "embeddings:0";
  return name;
}

const Family& gpt2_family() {
  static const Gpt2Family family;
  return family;
}

}  // namespace tensorferry
