// The ELECTRA table. Shape symbols: V vocab_size, E embedding_size, P max_position_embeddings,
// T type_vocab_size, H hidden_size, I intermediate_size, L num_hidden_layers, C labels.
// Verified against transformers 4.57.6 (PyTorch and TF2 save_pretrained of every class below)
// and google-research/electra model/modeling.py and run_pretraining.py.
//
// The embeddings and encoder are BERT's modules under another scope, so their rows are BERT's
// base rows (models/bert/bert_table.cc) renamed: "bert/" -> "electra/" in TF2, and in Google's
// names bert/embeddings -> electra/embeddings (shared by both networks) and bert/encoder ->
// electra/encoder (discriminator) or generator/encoder; the embedding tables are E wide. The
// rows below are ELECTRA's own. Rows are in the order TF2 save_weights writes them.
#include "models/bert/bert.h"
#include "models/electra/electra.h"
#include "models/encoder_rows.h"

namespace tensorferry {

namespace {
constexpr Layout kSame = Layout::kSame;
constexpr Layout kT = Layout::kTranspose;

// BERT's row for ELECTRA's network `net` ("electra" or "generator"): the embeddings are shared
// under electra/ and E wide, the encoder is the network's.
ParamRow from_bert(const ParamRow& bert, std::string_view net) {
  const bool embedding = bert.canonical.starts_with("embeddings.");
  return renamed_bert_row(bert, {"electra", embedding ? "electra" : net, embedding});
}

std::string_view net_name(bool generator, std::string_view suffix) {
  return keep_name(std::string(generator ? "generator/" : "electra/") + std::string(suffix));
}

// clang-format off
std::vector<ParamRow> projection_rows(bool generator) {
  return {
      {"project", false, "embeddings_project.weight", "H,E",
       {{{"{base}embeddings_project.weight", "H,E", kSame},
         {"electra/{scope}/electra/embeddings_project/kernel:0", "E,H", kT},
         {},
         {net_name(generator, "embeddings_project/kernel"), "E,H", kT}}}},
      {"project", false, "embeddings_project.bias", "H",
       {{{"{base}embeddings_project.bias", "H", kSame},
         {"electra/{scope}/electra/embeddings_project/bias:0", "H", kSame},
         {},
         {net_name(generator, "embeddings_project/bias"), "H", kSame}}}},
  };
}

#define DISC_TF2 "discriminator_predictions/{scope}/discriminator_predictions/"
#define GEN_TF2 "generator_predictions/{scope}/generator_predictions/"
const std::vector<ParamRow> kHeadRows = {
      {"discriminator", false, "discriminator_predictions.dense.weight", "H,H",
       {{{"discriminator_predictions.dense.weight", "H,H", kSame},
         {DISC_TF2 "dense/kernel:0", "H,H", kT},
         {},
         {"discriminator_predictions/dense/kernel", "H,H", kT}}}},
      {"discriminator", false, "discriminator_predictions.dense.bias", "H",
       {{{"discriminator_predictions.dense.bias", "H", kSame},
         {DISC_TF2 "dense/bias:0", "H", kSame},
         {},
         {"discriminator_predictions/dense/bias", "H", kSame}}}},
      {"discriminator", false, "discriminator_predictions.dense_prediction.weight", "1,H",
       {{{"discriminator_predictions.dense_prediction.weight", "1,H", kSame},
         {DISC_TF2 "dense_prediction/kernel:0", "H,1", kT},
         {},
         {"discriminator_predictions/dense_1/kernel", "H,1", kT}}}},
      {"discriminator", false, "discriminator_predictions.dense_prediction.bias", "1",
       {{{"discriminator_predictions.dense_prediction.bias", "1", kSame},
         {DISC_TF2 "dense_prediction/bias:0", "1", kSame},
         {},
         {"discriminator_predictions/dense_1/bias", "1", kSame}}}},

      {"generator", false, "generator_predictions.LayerNorm.weight", "E",
       {{{"generator_predictions.LayerNorm.weight", "E", kSame},
         {GEN_TF2 "LayerNorm/gamma:0", "E", kSame},
         {},
         {"generator_predictions/LayerNorm/gamma", "E", kSame}}}},
      {"generator", false, "generator_predictions.LayerNorm.bias", "E",
       {{{"generator_predictions.LayerNorm.bias", "E", kSame},
         {GEN_TF2 "LayerNorm/beta:0", "E", kSame},
         {},
         {"generator_predictions/LayerNorm/beta", "E", kSame}}}},
      {"generator", false, "generator_predictions.dense.weight", "E,H",
       {{{"generator_predictions.dense.weight", "E,H", kSame},
         {GEN_TF2 "dense/kernel:0", "H,E", kT},
         {},
         {"generator_predictions/dense/kernel", "H,E", kT}}}},
      {"generator", false, "generator_predictions.dense.bias", "E",
       {{{"generator_predictions.dense.bias", "E", kSame},
         {GEN_TF2 "dense/bias:0", "E", kSame},
         {},
         {"generator_predictions/dense/bias", "E", kSame}}}},
      {"generator", false, "generator_lm_head.bias", "V",
       {{{"generator_lm_head.bias", "V", kSame},
         {"generator_lm_head/{scope}/generator_lm_head/bias:0", "V", kSame},
         {},
         {"generator_predictions/output_bias", "V", kSame}}}},

      // ElectraClassificationHead: dense, gelu, out_proj on the first token. Google's
      // run_finetuning has a single dense layer there, so no google-tf1 names.
      {"classifier", false, "classifier.dense.weight", "H,H",
       {{{"classifier.dense.weight", "H,H", kSame},
         {"classifier/{scope}/classifier/dense/kernel:0", "H,H", kT}, {}, {}}}},
      {"classifier", false, "classifier.dense.bias", "H",
       {{{"classifier.dense.bias", "H", kSame},
         {"classifier/{scope}/classifier/dense/bias:0", "H", kSame}, {}, {}}}},
      {"classifier", false, "classifier.out_proj.weight", "C,H",
       {{{"classifier.out_proj.weight", "C,H", kSame},
         {"classifier/{scope}/classifier/out_proj/kernel:0", "H,C", kT}, {}, {}}}},
      {"classifier", false, "classifier.out_proj.bias", "C",
       {{{"classifier.out_proj.bias", "C", kSame},
         {"classifier/{scope}/classifier/out_proj/bias:0", "C", kSame}, {}, {}}}},
};
#undef DISC_TF2
#undef GEN_TF2
// clang-format on

std::vector<ParamRow> electra_rows(bool generator) {
  std::vector<ParamRow> rows;
  const std::string_view net = generator ? "generator" : "electra";
  for (const ParamRow& bert : bert_family().params()) {
    if (bert.group != "base") continue;
    // embeddings_project sits between the embeddings and the encoder.
    if (bert.per_layer && !rows.empty() && !rows.back().per_layer)
      for (ParamRow& row : projection_rows(generator)) rows.push_back(row);
    rows.push_back(from_bert(bert, net));
  }
  // Each network has its own heads: the generator's are not the discriminator's to read.
  for (const ParamRow& row : kHeadRows)
    if ((row.group == "generator") == generator) rows.push_back(row);
  return rows;
}

}  // namespace

ElectraFamily::ElectraFamily(bool generator)
    : generator_(generator), rows_(electra_rows(generator)) {}

const std::vector<ParamRow>& ElectraFamily::params() const { return rows_; }

const std::vector<GroupInfo>& ElectraFamily::groups() const {
  static const std::vector<GroupInfo> groups = {
      {"base", "ELECTRA embeddings and encoder"},
      {"project", "embedding projection (embeddings_project, when embedding_size != hidden_size)"},
      {"discriminator", "replaced-token discriminator head (discriminator_predictions)"},
      {"generator", "generator masked-LM head (generator_predictions, generator_lm_head)"},
      {"classifier", "sequence-classification head (classifier.dense, classifier.out_proj)"},
  };
  return groups;
}

const std::vector<AliasRow>& ElectraFamily::aliases() const {
#define LM_EMB_TF2 "generator_lm_head/{scope}/electra/embeddings/"
  static const std::vector<AliasRow> rows = {
      // ElectraForMaskedLM decodes with the word table.
      {Convention::kHfPyTorch, "generator", "generator_lm_head.weight",
       "embeddings.word_embeddings.weight", false},
      // Keras tracks the embedding layer the LM head decodes with under generator_lm_head too.
      {Convention::kHfTf2, "generator", LM_EMB_TF2 "word_embeddings/weight:0",
       "embeddings.word_embeddings.weight", true},
      {Convention::kHfTf2, "generator", LM_EMB_TF2 "token_type_embeddings/embeddings:0",
       "embeddings.token_type_embeddings.weight", true},
      {Convention::kHfTf2, "generator", LM_EMB_TF2 "position_embeddings/embeddings:0",
       "embeddings.position_embeddings.weight", true},
      {Convention::kHfTf2, "generator", LM_EMB_TF2 "LayerNorm/gamma:0",
       "embeddings.LayerNorm.weight", true},
      {Convention::kHfTf2, "generator", LM_EMB_TF2 "LayerNorm/beta:0", "embeddings.LayerNorm.bias",
       true},
  };
#undef LM_EMB_TF2
  return rows;
}

const std::vector<BufferRow>& ElectraFamily::buffers() const { return encoder_id_buffers(); }

const std::vector<HfClass>& ElectraFamily::hf_classes() const {
  // A generator is an ElectraForMaskedLM; the discriminator's classes are the others.
  static const std::vector<HfClass> discriminator = {
      {"ElectraForPreTraining",
       {"base", "project", "discriminator"},
       {"project"},
       "electra.",
       "tf_electra_for_pre_training",
       {"electra", "discriminator_predictions"}},
      {"ElectraForSequenceClassification",
       {"base", "project", "classifier"},
       {"project"},
       "electra.",
       "tf_electra_for_sequence_classification",
       {"electra", "classifier"}},
      {"ElectraModel", {"base", "project"}, {"project"}, "", "tf_electra_model", {"electra"}},
  };
  static const std::vector<HfClass> generator = {
      {"ElectraForMaskedLM",
       {"base", "project", "generator"},
       {"project"},
       "electra.",
       "tf_electra_for_masked_lm",
       {"electra", "generator_predictions", "generator_lm_head"}},
  };
  return generator_ ? generator : discriminator;
}

const std::vector<FileRow>& ElectraFamily::files() const {
  static const std::vector<FileRow> rows =
      with_hf_tokenizer_files({{{"vocab.txt", "vocab.txt", "", "vocab.txt"}, false}}, false);
  return rows;
}

const Family& electra_family() {
  static const ElectraFamily family(false);
  return family;
}

const Family& electra_generator_family() {
  static const ElectraFamily family(true);
  return family;
}

}  // namespace tensorferry
