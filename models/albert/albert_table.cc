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
// Rows are in the order TF2 save_weights writes them.
#include "models/albert/albert.h"

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

const std::vector<ParamRow>& AlbertFamily::params() const {
#define EMB_TF2 "albert/{scope}/albert/embeddings/"
#define LAYER_PT "{base}encoder.albert_layer_groups.{i}.albert_layers.0."
#define LAYER_TF2 "albert/{scope}/albert/encoder/albert_layer_groups_._{i}/albert_layers_._0/"
#define LAYER_G "bert/encoder/transformer/group_{i}/inner_group_0/"
#define MLM_TF2 "predictions/{scope}/predictions/"
  // clang-format off
  static const std::vector<ParamRow> rows = {
      {"base", false, "embeddings.word_embeddings.weight", "V,E",
       {{{"{base}embeddings.word_embeddings.weight", "V,E", kSame},
         {EMB_TF2 "word_embeddings/weight:0", "V,E", kSame},
         {},
         {"bert/embeddings/word_embeddings", "V,E", kSame}}}},
      {"base", false, "embeddings.token_type_embeddings.weight", "T,E",
       {{{"{base}embeddings.token_type_embeddings.weight", "T,E", kSame},
         {EMB_TF2 "token_type_embeddings/embeddings:0", "T,E", kSame},
         {},
         {"bert/embeddings/token_type_embeddings", "T,E", kSame}}}},
      {"base", false, "embeddings.position_embeddings.weight", "P,E",
       {{{"{base}embeddings.position_embeddings.weight", "P,E", kSame},
         {EMB_TF2 "position_embeddings/embeddings:0", "P,E", kSame},
         {},
         {"bert/embeddings/position_embeddings", "P,E", kSame}}}},
      {"base", false, "embeddings.LayerNorm.weight", "E",
       {{{"{base}embeddings.LayerNorm.weight", "E", kSame},
         {EMB_TF2 "LayerNorm/gamma:0", "E", kSame},
         {},
         {"bert/embeddings/LayerNorm/gamma", "E", kSame}}}},
      {"base", false, "embeddings.LayerNorm.bias", "E",
       {{{"{base}embeddings.LayerNorm.bias", "E", kSame},
         {EMB_TF2 "LayerNorm/beta:0", "E", kSame},
         {},
         {"bert/embeddings/LayerNorm/beta", "E", kSame}}}},
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

      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.query.weight", "H,H",
       {{{LAYER_PT "attention.query.weight", "H,H", kSame},
         {LAYER_TF2 "attention/query/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention_1/self/query/kernel", "H,H", kT}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.query.bias", "H",
       {{{LAYER_PT "attention.query.bias", "H", kSame},
         {LAYER_TF2 "attention/query/bias:0", "H", kSame},
         {},
         {LAYER_G "attention_1/self/query/bias", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.key.weight", "H,H",
       {{{LAYER_PT "attention.key.weight", "H,H", kSame},
         {LAYER_TF2 "attention/key/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention_1/self/key/kernel", "H,H", kT}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.key.bias", "H",
       {{{LAYER_PT "attention.key.bias", "H", kSame},
         {LAYER_TF2 "attention/key/bias:0", "H", kSame},
         {},
         {LAYER_G "attention_1/self/key/bias", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.value.weight", "H,H",
       {{{LAYER_PT "attention.value.weight", "H,H", kSame},
         {LAYER_TF2 "attention/value/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention_1/self/value/kernel", "H,H", kT}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.value.bias", "H",
       {{{LAYER_PT "attention.value.bias", "H", kSame},
         {LAYER_TF2 "attention/value/bias:0", "H", kSame},
         {},
         {LAYER_G "attention_1/self/value/bias", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.dense.weight", "H,H",
       {{{LAYER_PT "attention.dense.weight", "H,H", kSame},
         {LAYER_TF2 "attention/dense/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention_1/output/dense/kernel", "H,H", kT}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.dense.bias", "H",
       {{{LAYER_PT "attention.dense.bias", "H", kSame},
         {LAYER_TF2 "attention/dense/bias:0", "H", kSame},
         {},
         {LAYER_G "attention_1/output/dense/bias", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.LayerNorm.weight", "H",
       {{{LAYER_PT "attention.LayerNorm.weight", "H", kSame},
         {LAYER_TF2 "attention/LayerNorm/gamma:0", "H", kSame},
         {},
         {LAYER_G "LayerNorm/gamma", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.LayerNorm.bias", "H",
       {{{LAYER_PT "attention.LayerNorm.bias", "H", kSame},
         {LAYER_TF2 "attention/LayerNorm/beta:0", "H", kSame},
         {},
         {LAYER_G "LayerNorm/beta", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn.weight", "I,H",
       {{{LAYER_PT "ffn.weight", "I,H", kSame},
         {LAYER_TF2 "ffn/kernel:0", "H,I", kT},
         {},
         {LAYER_G "ffn_1/intermediate/dense/kernel", "H,I", kT}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn.bias", "I",
       {{{LAYER_PT "ffn.bias", "I", kSame},
         {LAYER_TF2 "ffn/bias:0", "I", kSame},
         {},
         {LAYER_G "ffn_1/intermediate/dense/bias", "I", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn_output.weight", "H,I",
       {{{LAYER_PT "ffn_output.weight", "H,I", kSame},
         {LAYER_TF2 "ffn_output/kernel:0", "I,H", kT},
         {},
         {LAYER_G "ffn_1/intermediate/output/dense/kernel", "I,H", kT}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn_output.bias", "H",
       {{{LAYER_PT "ffn_output.bias", "H", kSame},
         {LAYER_TF2 "ffn_output/bias:0", "H", kSame},
         {},
         {LAYER_G "ffn_1/intermediate/output/dense/bias", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.full_layer_layer_norm.weight", "H",
       {{{LAYER_PT "full_layer_layer_norm.weight", "H", kSame},
         {LAYER_TF2 "full_layer_layer_norm/gamma:0", "H", kSame},
         {},
         {LAYER_G "LayerNorm_1/gamma", "H", kSame}}}},
      {"base", true, "encoder.albert_layer_groups.{i}.albert_layers.0.full_layer_layer_norm.bias", "H",
       {{{LAYER_PT "full_layer_layer_norm.bias", "H", kSame},
         {LAYER_TF2 "full_layer_layer_norm/beta:0", "H", kSame},
         {},
         {LAYER_G "LayerNorm_1/beta", "H", kSame}}}},

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

      // classifier_utils.py creates these two at the top level, without a scope.
      {"classifier", false, "classifier.weight", "C,H",
       {{{"classifier.weight", "C,H", kSame},
         {"classifier/{scope}/classifier/kernel:0", "H,C", kT},
         {},
         {"output_weights", "C,H", kSame}}}},
      {"classifier", false, "classifier.bias", "C",
       {{{"classifier.bias", "C", kSame},
         {"classifier/{scope}/classifier/bias:0", "C", kSame},
         {},
         {"output_bias", "C", kSame}}}},
  };
  // clang-format on
#undef EMB_TF2
#undef LAYER_PT
#undef LAYER_TF2
#undef LAYER_G
#undef MLM_TF2
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
  static const std::vector<BufferRow> rows = {
      {Convention::kHfPyTorch, "{base}embeddings.position_ids",
       "position-ids buffer (arange; rebuilt by the model)"},
      {Convention::kHfPyTorch, "{base}embeddings.token_type_ids",
       "token-type-ids buffer (zeros; rebuilt by the model)"},
  };
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
  static const std::vector<FileRow> rows = {
      // Google's albert_*.tar.gz names its SentencePiece model 30k-clean.model.
      {{"spiece.model", "spiece.model", "", "30k-clean.model"}, false},
      {{"tokenizer.json", "tokenizer.json", "", ""}, false},
      {{"tokenizer_config.json", "tokenizer_config.json", "", ""}, false},
      {{"special_tokens_map.json", "special_tokens_map.json", "", ""}, false},
  };
  return rows;
}

}  // namespace tensorferry
