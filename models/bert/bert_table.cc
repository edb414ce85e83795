// The BERT table. Shape symbols: V vocab_size, P max_position_embeddings, H hidden_size,
// I intermediate_size, T type_vocab_size, C number of classifier labels. Verified against
// transformers 4.57.6 (PyTorch and TF2 save_pretrained of every class below) and
// google-research/bert modeling.py, run_pretraining.py, run_classifier.py, run_squad.py.
//
// Every Dense kernel (TF1 tf.layers.dense, Keras Dense) is [in, out], the transpose of the
// PyTorch Linear weight [out, in]. The TF1 heads made with tf.get_variable("output_weights")
// are used with matmul(..., transpose_b=True), so they are stored [out, in] like PyTorch and are
// not transposed to TF1, but are to TF2 (a Keras Dense there).
//
// Rows are listed in the order TF2 save_weights writes them (token-type before position
// embeddings, the MLM bias before its transform), the one container whose order is visible.
#include "models/bert/bert.h"
#include "models/encoder_rows.h"

namespace tensorferry {

namespace {
constexpr Layout kSame = Layout::kSame;
constexpr Layout kT = Layout::kTranspose;
}  // namespace

const std::vector<GroupInfo>& BertFamily::groups() const {
  static const std::vector<GroupInfo> groups = {
      {"base", "BERT embeddings and encoder"},
      {"pooler", "pooler (bert.pooler.dense)"},
      {"nsp", "next-sentence head (cls.seq_relationship)"},
      {"mlm", "masked-LM head (cls.predictions)"},
      {"classifier", "sequence-classification head (classifier / run_classifier output_*)"},
      {"qa", "question-answering head (qa_outputs / run_squad cls/squad)"},
      {"untied_decoder",
       "an MLM decoder not tied to the word embeddings "
       "(cls.predictions.decoder.weight, tie_word_embeddings false)"},
  };
  return groups;
}

const std::vector<ParamRow>& BertFamily::params() const {
  // Columns in Convention order: hf-pytorch, hf-tf2, openai-tf1 (none), google-tf1.
#define EMB_TF2 "bert/{scope}/bert/embeddings/"
#define LAYER_PT "{base}encoder.layer.{i}."
#define LAYER_TF2 "bert/{scope}/bert/encoder/layer_._{i}/"
#define LAYER_G "bert/encoder/layer_{i}/"
#define MLM_TF2 "mlm___cls/{scope}/mlm___cls/predictions/"
  // One row per parameter, kept as a table.
  // clang-format off
  static const std::vector<ParamRow> rows = {
      {"base", false, "embeddings.word_embeddings.weight", "V,H",
       {{{"{base}embeddings.word_embeddings.weight", "V,H", kSame},
         {EMB_TF2 "word_embeddings/weight:0", "V,H", kSame},
         {},
         {"bert/embeddings/word_embeddings", "V,H", kSame}}}},
      {"base", false, "embeddings.token_type_embeddings.weight", "T,H",
       {{{"{base}embeddings.token_type_embeddings.weight", "T,H", kSame},
         {EMB_TF2 "token_type_embeddings/embeddings:0", "T,H", kSame},
         {},
         {"bert/embeddings/token_type_embeddings", "T,H", kSame}}}},
      {"base", false, "embeddings.position_embeddings.weight", "P,H",
       {{{"{base}embeddings.position_embeddings.weight", "P,H", kSame},
         {EMB_TF2 "position_embeddings/embeddings:0", "P,H", kSame},
         {},
         {"bert/embeddings/position_embeddings", "P,H", kSame}}}},
      {"base", false, "embeddings.LayerNorm.weight", "H",
       {{{"{base}embeddings.LayerNorm.weight", "H", kSame},
         {EMB_TF2 "LayerNorm/gamma:0", "H", kSame},
         {},
         {"bert/embeddings/LayerNorm/gamma", "H", kSame}}}},
      {"base", false, "embeddings.LayerNorm.bias", "H",
       {{{"{base}embeddings.LayerNorm.bias", "H", kSame},
         {EMB_TF2 "LayerNorm/beta:0", "H", kSame},
         {},
         {"bert/embeddings/LayerNorm/beta", "H", kSame}}}},

      {"base", true, "encoder.layer.{i}.attention.self.query.weight", "H,H",
       {{{LAYER_PT "attention.self.query.weight", "H,H", kSame},
         {LAYER_TF2 "attention/self/query/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention/self/query/kernel", "H,H", kT}}}},
      {"base", true, "encoder.layer.{i}.attention.self.query.bias", "H",
       {{{LAYER_PT "attention.self.query.bias", "H", kSame},
         {LAYER_TF2 "attention/self/query/bias:0", "H", kSame},
         {},
         {LAYER_G "attention/self/query/bias", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.attention.self.key.weight", "H,H",
       {{{LAYER_PT "attention.self.key.weight", "H,H", kSame},
         {LAYER_TF2 "attention/self/key/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention/self/key/kernel", "H,H", kT}}}},
      {"base", true, "encoder.layer.{i}.attention.self.key.bias", "H",
       {{{LAYER_PT "attention.self.key.bias", "H", kSame},
         {LAYER_TF2 "attention/self/key/bias:0", "H", kSame},
         {},
         {LAYER_G "attention/self/key/bias", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.attention.self.value.weight", "H,H",
       {{{LAYER_PT "attention.self.value.weight", "H,H", kSame},
         {LAYER_TF2 "attention/self/value/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention/self/value/kernel", "H,H", kT}}}},
      {"base", true, "encoder.layer.{i}.attention.self.value.bias", "H",
       {{{LAYER_PT "attention.self.value.bias", "H", kSame},
         {LAYER_TF2 "attention/self/value/bias:0", "H", kSame},
         {},
         {LAYER_G "attention/self/value/bias", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.attention.output.dense.weight", "H,H",
       {{{LAYER_PT "attention.output.dense.weight", "H,H", kSame},
         {LAYER_TF2 "attention/output/dense/kernel:0", "H,H", kT},
         {},
         {LAYER_G "attention/output/dense/kernel", "H,H", kT}}}},
      {"base", true, "encoder.layer.{i}.attention.output.dense.bias", "H",
       {{{LAYER_PT "attention.output.dense.bias", "H", kSame},
         {LAYER_TF2 "attention/output/dense/bias:0", "H", kSame},
         {},
         {LAYER_G "attention/output/dense/bias", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.attention.output.LayerNorm.weight", "H",
       {{{LAYER_PT "attention.output.LayerNorm.weight", "H", kSame},
         {LAYER_TF2 "attention/output/LayerNorm/gamma:0", "H", kSame},
         {},
         {LAYER_G "attention/output/LayerNorm/gamma", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.attention.output.LayerNorm.bias", "H",
       {{{LAYER_PT "attention.output.LayerNorm.bias", "H", kSame},
         {LAYER_TF2 "attention/output/LayerNorm/beta:0", "H", kSame},
         {},
         {LAYER_G "attention/output/LayerNorm/beta", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.intermediate.dense.weight", "I,H",
       {{{LAYER_PT "intermediate.dense.weight", "I,H", kSame},
         {LAYER_TF2 "intermediate/dense/kernel:0", "H,I", kT},
         {},
         {LAYER_G "intermediate/dense/kernel", "H,I", kT}}}},
      {"base", true, "encoder.layer.{i}.intermediate.dense.bias", "I",
       {{{LAYER_PT "intermediate.dense.bias", "I", kSame},
         {LAYER_TF2 "intermediate/dense/bias:0", "I", kSame},
         {},
         {LAYER_G "intermediate/dense/bias", "I", kSame}}}},
      {"base", true, "encoder.layer.{i}.output.dense.weight", "H,I",
       {{{LAYER_PT "output.dense.weight", "H,I", kSame},
         {LAYER_TF2 "output/dense/kernel:0", "I,H", kT},
         {},
         {LAYER_G "output/dense/kernel", "I,H", kT}}}},
      {"base", true, "encoder.layer.{i}.output.dense.bias", "H",
       {{{LAYER_PT "output.dense.bias", "H", kSame},
         {LAYER_TF2 "output/dense/bias:0", "H", kSame},
         {},
         {LAYER_G "output/dense/bias", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.output.LayerNorm.weight", "H",
       {{{LAYER_PT "output.LayerNorm.weight", "H", kSame},
         {LAYER_TF2 "output/LayerNorm/gamma:0", "H", kSame},
         {},
         {LAYER_G "output/LayerNorm/gamma", "H", kSame}}}},
      {"base", true, "encoder.layer.{i}.output.LayerNorm.bias", "H",
       {{{LAYER_PT "output.LayerNorm.bias", "H", kSame},
         {LAYER_TF2 "output/LayerNorm/beta:0", "H", kSame},
         {},
         {LAYER_G "output/LayerNorm/beta", "H", kSame}}}},

      {"pooler", false, "pooler.dense.weight", "H,H",
       {{{"{base}pooler.dense.weight", "H,H", kSame},
         {"bert/{scope}/bert/pooler/dense/kernel:0", "H,H", kT},
         {},
         {"bert/pooler/dense/kernel", "H,H", kT}}}},
      {"pooler", false, "pooler.dense.bias", "H",
       {{{"{base}pooler.dense.bias", "H", kSame},
         {"bert/{scope}/bert/pooler/dense/bias:0", "H", kSame},
         {},
         {"bert/pooler/dense/bias", "H", kSame}}}},

      {"nsp", false, "cls.seq_relationship.weight", "2,H",
       {{{"cls.seq_relationship.weight", "2,H", kSame},
         {"nsp___cls/{scope}/nsp___cls/seq_relationship/kernel:0", "H,2", kT},
         {},
         {"cls/seq_relationship/output_weights", "2,H", kSame}}}},
      {"nsp", false, "cls.seq_relationship.bias", "2",
       {{{"cls.seq_relationship.bias", "2", kSame},
         {"nsp___cls/{scope}/nsp___cls/seq_relationship/bias:0", "2", kSame},
         {},
         {"cls/seq_relationship/output_bias", "2", kSame}}}},

      {"mlm", false, "cls.predictions.bias", "V",
       {{{"cls.predictions.bias", "V", kSame},
         {MLM_TF2 "bias:0", "V", kSame},
         {},
         {"cls/predictions/output_bias", "V", kSame}}}},
      {"mlm", false, "cls.predictions.transform.dense.weight", "H,H",
       {{{"cls.predictions.transform.dense.weight", "H,H", kSame},
         {MLM_TF2 "transform/dense/kernel:0", "H,H", kT},
         {},
         {"cls/predictions/transform/dense/kernel", "H,H", kT}}}},
      {"mlm", false, "cls.predictions.transform.dense.bias", "H",
       {{{"cls.predictions.transform.dense.bias", "H", kSame},
         {MLM_TF2 "transform/dense/bias:0", "H", kSame},
         {},
         {"cls/predictions/transform/dense/bias", "H", kSame}}}},
      {"mlm", false, "cls.predictions.transform.LayerNorm.weight", "H",
       {{{"cls.predictions.transform.LayerNorm.weight", "H", kSame},
         {MLM_TF2 "transform/LayerNorm/gamma:0", "H", kSame},
         {},
         {"cls/predictions/transform/LayerNorm/gamma", "H", kSame}}}},
      {"mlm", false, "cls.predictions.transform.LayerNorm.bias", "H",
       {{{"cls.predictions.transform.LayerNorm.bias", "H", kSame},
         {MLM_TF2 "transform/LayerNorm/beta:0", "H", kSame},
         {},
         {"cls/predictions/transform/LayerNorm/beta", "H", kSame}}}},

      // run_classifier.py creates these two at the top level, without a scope.
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

      // run_squad.py: logits = matmul(x, output_weights, transpose_b) split into start/end, the
      // same column order as HF's qa_outputs.
      {"qa", false, "qa_outputs.weight", "2,H",
       {{{"qa_outputs.weight", "2,H", kSame},
         {"qa_outputs/{scope}/qa_outputs/kernel:0", "H,2", kT},
         {},
         {"cls/squad/output_weights", "2,H", kSame}}}},
      {"qa", false, "qa_outputs.bias", "2",
       {{{"qa_outputs.bias", "2", kSame},
         {"qa_outputs/{scope}/qa_outputs/bias:0", "2", kSame},
         {},
         {"cls/squad/output_bias", "2", kSame}}}},

      // Only with tie_word_embeddings false: Google's run_pretraining and the TF2 classes always
      // use the word embeddings as the MLM decoder.
      {"untied_decoder", false, "cls.predictions.decoder.weight", "V,H",
       {{{"cls.predictions.decoder.weight", "V,H", kSame}, {}, {}, {}}}},
  };
  // clang-format on
#undef EMB_TF2
#undef LAYER_PT
#undef LAYER_TF2
#undef LAYER_G
#undef MLM_TF2
  return rows;
}

const std::vector<AliasRow>& BertFamily::aliases() const {
  static const std::vector<AliasRow> rows = {
      // PyTorch state dicts of the MLM classes name the tied decoder weight and bias again.
      {Convention::kHfPyTorch, "mlm", "cls.predictions.decoder.weight",
       "embeddings.word_embeddings.weight", false},
      {Convention::kHfPyTorch, "mlm", "cls.predictions.decoder.bias", "cls.predictions.bias",
       false},
      // Keras tracks the embedding layer the MLM head holds as a sub-layer of mlm___cls, so
      // save_weights lists all five embedding variables a second time under that group.
      {Convention::kHfTf2, "mlm", "mlm___cls/{scope}/bert/embeddings/word_embeddings/weight:0",
       "embeddings.word_embeddings.weight", true},
      {Convention::kHfTf2, "mlm",
       "mlm___cls/{scope}/bert/embeddings/token_type_embeddings/embeddings:0",
       "embeddings.token_type_embeddings.weight", true},
      {Convention::kHfTf2, "mlm",
       "mlm___cls/{scope}/bert/embeddings/position_embeddings/embeddings:0",
       "embeddings.position_embeddings.weight", true},
      {Convention::kHfTf2, "mlm", "mlm___cls/{scope}/bert/embeddings/LayerNorm/gamma:0",
       "embeddings.LayerNorm.weight", true},
      {Convention::kHfTf2, "mlm", "mlm___cls/{scope}/bert/embeddings/LayerNorm/beta:0",
       "embeddings.LayerNorm.bias", true},
  };
  return rows;
}

const std::vector<BufferRow>& BertFamily::buffers() const {
  static const std::vector<BufferRow> rows = {
      {Convention::kHfPyTorch, "{base}embeddings.position_ids",
       "position-ids buffer (arange; saved by transformers < 4.31, rebuilt by the model)"},
      {Convention::kHfPyTorch, "{base}embeddings.token_type_ids",
       "token-type-ids buffer (zeros; rebuilt by the model)"},
  };
  return rows;
}

const std::vector<HfClass>& BertFamily::hf_classes() const {
  static const std::vector<HfClass> classes = {
      {"BertForPreTraining",
       {"base", "pooler", "mlm", "nsp", "untied_decoder"},
       {"untied_decoder"},
       "bert.",
       "tf_bert_for_pre_training",
       {"bert", "nsp___cls", "mlm___cls"}},
      {"BertForMaskedLM",
       {"base", "mlm", "untied_decoder"},
       {"untied_decoder"},
       "bert.",
       "tf_bert_for_masked_lm",
       {"bert", "mlm___cls"}},
      {"BertForNextSentencePrediction",
       {"base", "pooler", "nsp"},
       {},
       "bert.",
       "tf_bert_for_next_sentence_prediction",
       {"bert", "nsp___cls"}},
      // The Dropout layer between bert and classifier is listed (without weights) in the file.
      {"BertForSequenceClassification",
       {"base", "pooler", "classifier"},
       {},
       "bert.",
       "tf_bert_for_sequence_classification",
       {"bert", "dropout_#", "classifier"}},
      {"BertForQuestionAnswering",
       {"base", "qa"},
       {},
       "bert.",
       "tf_bert_for_question_answering",
       {"bert", "qa_outputs"}},
      // BertModel(add_pooling_layer=False) checkpoints have no pooler.
      {"BertModel", {"base", "pooler"}, {"pooler"}, "", "tf_bert_model", {"bert"}},
  };
  return classes;
}

const std::vector<FileRow>& BertFamily::files() const {
  static const std::vector<FileRow> rows =
      with_hf_tokenizer_files({{{"vocab.txt", "vocab.txt", "", "vocab.txt"}, false}}, true);
  return rows;
}

std::string_view BertFamily::config_file(Convention c) const {
  switch (c) {
    case Convention::kHfPyTorch:
    case Convention::kHfTf2: return "config.json";
    case Convention::kOpenAiTf1: return "";
    case Convention::kGoogleTf1: return "bert_config.json";
  }
  return "";
}

std::vector<std::string> BertFamily::tf2_layer_names(const HfClass& c,
                                                     const ModelConfig& config) const {
  // A fresh TFBertForSequenceClassification has one Dropout in the embeddings and three in each
  // layer before the classifier's, hence 3L+1.
  return keras_layer_names(c, 3 * config.symbols.at('L') + 1);
}

std::string BertFamily::normalize_source_name(Convention c, const std::string& name) const {
  // The hub's original bert-base-* PyTorch files (and SpanBERT's) say LayerNorm.gamma/.beta.
  if (c != Convention::kHfPyTorch) return name;
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with("LayerNorm.gamma")) return name.substr(0, name.size() - 5) + "weight";
  if (ends_with("LayerNorm.beta")) return name.substr(0, name.size() - 4) + "bias";
  return name;
}

const Family& bert_family() {
  static const BertFamily family;
  return family;
}

}  // namespace tensorferry
