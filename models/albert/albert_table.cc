// The ALBERT table. Shape symbols: V vocab_size, E embedding_size, P max_position_embeddings,
// T type_vocab_size, H hidden_size, I intermediate_size, C number of classifier labels, and L the
// number of stored layer groups (num_hidden_groups), not the depth: ALBERT's layers share their
// weights, layer l of the num_hidden_layers applying group l * groups / layers, so the per-layer
// rows below are expanded once per group. Verified against transformers 4.57.6 (PyTorch and TF2
// save_pretrained of every class below) and google-research/albert modeling.py,
// run_pretraining.py and classifier_utils.py.
//
// Google's names: bert/embeddings/* of width E, bert/encoder/embedding_hidden_mapping_in (E -> H,
// only when E != H: AlbertModel always has it, so check_expressible requires E != H),
// bert/encoder/transformer/group_{g}/inner_group_0/{attention_1/..., LayerNorm, ffn_1/...,
// LayerNorm_1}, cls/predictions (transform to E, tied to the [V, E] word table),
// cls/seq_relationship (sentence order; HF's sop_classifier) and classifier_utils' top-level
// output_weights / output_bias. Kernels are [in, out] in TF1 and TF2 (transposed from PyTorch);
// the tf.get_variable("output_weights") heads are [out, in] in TF1 (matmul transpose_b).
//
// The embeddings are BERT's module, so their rows are BERT's base rows (models/bert/
// bert_table.cc) E wide with the TF2 main layer "albert"; the layer rows are BERT's per-layer
// rows (shapes, layouts) under ALBERT's module names (kLayerModules). Rows are in the order TF2
// save_weights writes them.
#include <algorithm>
#include <stdexcept>

#include "models/albert/albert.h"
#include "models/bert/bert.h"
#include "models/encoder_rows.h"

namespace tensorferry {

namespace {
constexpr Layout kSame = Layout::kSame;
constexpr Layout kT = Layout::kTranspose;
}  // namespace

const std::vector<GroupInfo>& AlbertFamily::groups() const {
  static const std::vector<GroupInfo> groups = {
      {"base", "ALBERT embeddings and encoder"},
      {"pooler", "pooler (albert.pooler)"},
      {"mlm", "masked-LM head (predictions / cls/predictions)"},
      {"sop", "sentence-order head (sop_classifier / cls/seq_relationship)"},
      {"classifier", "sequence-classification head (classifier / classifier_utils output_*)"},
  };
  return groups;
}

namespace {

// BERT's per-layer module (the HF PyTorch name between "encoder.layer.{i}." and the parameter)
// and ALBERT's name for it: in HF PyTorch (TF2 the same with '/' for '.') and in Google's
// inner_group_0. Shapes and layouts are BERT's.
struct LayerModule {
  std::string_view bert, hf, google;
};
constexpr LayerModule kLayerModules[] = {
    {"attention.self.query", "attention.query", "attention_1/self/query"},
    {"attention.self.key", "attention.key", "attention_1/self/key"},
    {"attention.self.value", "attention.value", "attention_1/self/value"},
    {"attention.output.dense", "attention.dense", "attention_1/output/dense"},
    {"attention.output.LayerNorm", "attention.LayerNorm", "LayerNorm"},
    {"intermediate.dense", "ffn", "ffn_1/intermediate/dense"},
    {"output.dense", "ffn_output", "ffn_1/intermediate/output/dense"},
    {"output.LayerNorm", "full_layer_layer_norm", "LayerNorm_1"},
};

std::string_view last_segment(std::string_view name, char separator) {
  return name.substr(name.rfind(separator) + 1);
}

// BERT's per-layer row under ALBERT's names, once per layer group ({i}).
ParamRow layer_row(const ParamRow& bert) {
  constexpr std::string_view kBertLayer = "encoder.layer.{i}.";
  const std::string_view module_param = bert.canonical.substr(kBertLayer.size());
  const std::string_view module = module_param.substr(0, module_param.rfind('.'));
  const std::string_view param = last_segment(module_param, '.');
  const LayerModule* names = nullptr;
  for (const LayerModule& m : kLayerModules)
    if (m.bert == module) names = &m;
  if (names == nullptr)
    throw std::logic_error("ALBERT has no name for BERT's " + std::string(module));
  std::string tf2_module(names->hf);
  std::replace(tf2_module.begin(), tf2_module.end(), '.', '/');
  const std::string canonical = "encoder.albert_layer_groups.{i}.albert_layers.0." +
                                std::string(names->hf) + "." + std::string(param);
  ParamRow row = bert;
  row.canonical = keep_name(canonical);
  row.stored[static_cast<size_t>(Convention::kHfPyTorch)].name = keep_name("{base}" + canonical);
  auto& tf2 = row.stored[static_cast<size_t>(Convention::kHfTf2)];
  tf2.name =
      keep_name("albert/{scope}/albert/encoder/albert_layer_groups_._{i}/albert_layers_._0/" +
                tf2_module + "/" + std::string(last_segment(tf2.name, '/')));
  auto& google = row.stored[static_cast<size_t>(Convention::kGoogleTf1)];
  google.name =
      keep_name("bert/encoder/transformer/group_{i}/inner_group_0/" + std::string(names->google) +
                "/" + std::string(last_segment(google.name, '/')));
  return row;
}

}  // namespace

const std::vector<ParamRow>& AlbertFamily::params() const {
#define MLM_TF2 "predictions/{scope}/predictions/"
  // clang-format off
  // embedding_hidden_mapping_in sits between the embeddings and the layers.
  static const std::vector<ParamRow> mapping = {
      {"base", false, "encoder.embedding_hidden_mapping_in.weight", "H,E",
       {{{"{base}encoder.embedding_hidden_mapping_in.weight", "H,E", kSame},
         {"albert/{scope}/albert/encoder/embedding_hidden_mapping_in/kernel:0", "E,H", kT},
         {},
         {"bert/encoder/embedding_hidden_mapping_in/kernel", "E,H", kT}}}},
      {"base", false, "encoder.embedding_hidden_mapping_in.bias", "H",
       {{{"{base}encoder.embedding_hidden_mapping_in.bias", "H", kSame},
         {"albert/{scope}/albert/encoder/embedding_hidden_mapping_in/bias:0", "H", kSame},
         {},
         {"bert/encoder/embedding_hidden_mapping_in/bias", "H", kSame}}}},
  };
  static const std::vector<ParamRow> heads = {
      {"pooler", false, "pooler.weight", "H,H",
       {{{"{base}pooler.weight", "H,H", kSame},
         {"albert/{scope}/albert/pooler/kernel:0", "H,H", kT},
         {},
         {"bert/pooler/dense/kernel", "H,H", kT}}}},
      {"pooler", false, "pooler.bias", "H",
       {{{"{base}pooler.bias", "H", kSame},
         {"albert/{scope}/albert/pooler/bias:0", "H", kSame},
         {},
         {"bert/pooler/dense/bias", "H", kSame}}}},

      // TFAlbertMLMHead adds `decoder/bias` to the logits; its `bias` is never applied (it is
      // written as a copy, below in the aliases, as transformers' PyTorch-to-TF port does).
      {"mlm", false, "predictions.bias", "V",
       {{{"predictions.bias", "V", kSame},
         {MLM_TF2 "decoder/bias:0", "V", kSame},
         {},
         {"cls/predictions/output_bias", "V", kSame}}}},
      {"mlm", false, "predictions.dense.weight", "E,H",
       {{{"predictions.dense.weight", "E,H", kSame},
         {MLM_TF2 "dense/kernel:0", "H,E", kT},
         {},
         {"cls/predictions/transform/dense/kernel", "H,E", kT}}}},
      {"mlm", false, "predictions.dense.bias", "E",
       {{{"predictions.dense.bias", "E", kSame},
         {MLM_TF2 "dense/bias:0", "E", kSame},
         {},
         {"cls/predictions/transform/dense/bias", "E", kSame}}}},
      {"mlm", false, "predictions.LayerNorm.weight", "E",
       {{{"predictions.LayerNorm.weight", "E", kSame},
         {MLM_TF2 "LayerNorm/gamma:0", "E", kSame},
         {},
         {"cls/predictions/transform/LayerNorm/gamma", "E", kSame}}}},
      {"mlm", false, "predictions.LayerNorm.bias", "E",
       {{{"predictions.LayerNorm.bias", "E", kSame},
         {MLM_TF2 "LayerNorm/beta:0", "E", kSame},
         {},
         {"cls/predictions/transform/LayerNorm/beta", "E", kSame}}}},

      {"sop", false, "sop_classifier.classifier.weight", "2,H",
       {{{"sop_classifier.classifier.weight", "2,H", kSame},
         {"sop_classifier/{scope}/sop_classifier/classifier/kernel:0", "H,2", kT},
         {},
         {"cls/seq_relationship/output_weights", "2,H", kSame}}}},
      {"sop", false, "sop_classifier.classifier.bias", "2",
       {{{"sop_classifier.classifier.bias", "2", kSame},
         {"sop_classifier/{scope}/sop_classifier/classifier/bias:0", "2", kSame},
         {},
         {"cls/seq_relationship/output_bias", "2", kSame}}}},

  };
  // clang-format on
#undef MLM_TF2
  static const std::vector<ParamRow> rows = [] {
    std::vector<ParamRow> out;
    for (const ParamRow& bert : bert_family().params()) {
      if (bert.group != "base") continue;
      if (!bert.per_layer) {
        out.push_back(renamed_bert_row(bert, {"albert", "bert", true}));
        continue;
      }
      if (!out.back().per_layer) out.insert(out.end(), mapping.begin(), mapping.end());
      out.push_back(layer_row(bert));
    }
    out.insert(out.end(), heads.begin(), heads.end());
    // classifier_utils.py creates output_weights / output_bias at the top level, as BERT's
    // run_classifier.py does; HF names them as BERT's classes do.
    for (const ParamRow& bert : bert_family().params())
      if (bert.group == "classifier") out.push_back(bert);
    return out;
  }();
  return rows;
}

const std::vector<AliasRow>& AlbertFamily::aliases() const {
#define MLM_EMB_TF2 "predictions/{scope}/albert/embeddings/"
  static const std::vector<AliasRow> rows = {
      // The PyTorch MLM head's decoder is the word table and its bias predictions.bias.
      {Convention::kHfPyTorch, "mlm", "predictions.decoder.weight",
       "embeddings.word_embeddings.weight", false},
      {Convention::kHfPyTorch, "mlm", "predictions.decoder.bias", "predictions.bias", false},
      {Convention::kHfTf2, "mlm", "predictions/{scope}/predictions/bias:0", "predictions.bias",
       true},
      // Keras tracks the embedding layer the MLM head decodes with under `predictions` too.
      {Convention::kHfTf2, "mlm", MLM_EMB_TF2 "word_embeddings/weight:0",
       "embeddings.word_embeddings.weight", true},
      {Convention::kHfTf2, "mlm", MLM_EMB_TF2 "token_type_embeddings/embeddings:0",
       "embeddings.token_type_embeddings.weight", true},
      {Convention::kHfTf2, "mlm", MLM_EMB_TF2 "position_embeddings/embeddings:0",
       "embeddings.position_embeddings.weight", true},
      {Convention::kHfTf2, "mlm", MLM_EMB_TF2 "LayerNorm/gamma:0", "embeddings.LayerNorm.weight",
       true},
      {Convention::kHfTf2, "mlm", MLM_EMB_TF2 "LayerNorm/beta:0", "embeddings.LayerNorm.bias",
       true},
  };
#undef MLM_EMB_TF2
  return rows;
}

const std::vector<BufferRow>& AlbertFamily::buffers() const {
  static const std::vector<BufferRow> rows = [] {
    std::vector<BufferRow> r = encoder_id_buffers();
    // Written as a copy of predictions.bias (the aliases above), but on read it is no copy:
    // TFAlbertMLMHead adds `decoder/bias` to the logits and never applies `bias`, so training
    // leaves the two apart and only `decoder/bias` is the model's.
    r.push_back({Convention::kHfTf2, "predictions/{scope}/predictions/bias:0",
                 "MLM bias TFAlbertMLMHead never applies (its logits add decoder/bias)"});
    return r;
  }();
  return rows;
}

const std::vector<HfClass>& AlbertFamily::hf_classes() const {
  static const std::vector<HfClass> classes = {
      {"AlbertForPreTraining",
       {"base", "pooler", "mlm", "sop"},
       {},
       "albert.",
       "tf_albert_for_pre_training",
       {"albert", "predictions", "sop_classifier"}},
      {"AlbertForMaskedLM",
       {"base", "mlm"},
       {},
       "albert.",
       "tf_albert_for_masked_lm",
       {"albert", "predictions"}},
      // The Dropout layer between albert and classifier is listed (without weights) in the file.
      {"AlbertForSequenceClassification",
       {"base", "pooler", "classifier"},
       {},
       "albert.",
       "tf_albert_for_sequence_classification",
       {"albert", "dropout_#", "classifier"}},
      {"AlbertModel", {"base", "pooler"}, {"pooler"}, "", "tf_albert_model", {"albert"}},
  };
  return classes;
}

const std::vector<FileRow>& AlbertFamily::files() const {
  // Google's albert_*.tar.gz names its SentencePiece model 30k-clean.model.
  static const std::vector<FileRow> rows = with_hf_tokenizer_files(
      {{{"spiece.model", "spiece.model", "", "30k-clean.model"}, false}}, false);
  return rows;
}

}  // namespace tensorferry
