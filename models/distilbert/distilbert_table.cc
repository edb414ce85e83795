// The DistilBERT table. Shape symbols as BERT's: V vocab_size, P max_position_embeddings, H dim,
// I hidden_dim, L n_layers, C labels (distilbert_config.cc maps the keys).
//
// DistilBERT's modules do the jobs of BERT's under other names, so every row is BERT's row
// (models/bert/bert_table.cc: shapes, layouts, the TF2 leaf names kernel/bias/gamma/beta) for the
// BERT module that does the same job, renamed by kModules. Names checked against
// save_pretrained of every class below (transformers 4.57.6, PyTorch and TF 2.15 tf_model.h5):
//   PyTorch  {base}transformer.layer.{i}.attention.q_lin.weight            [out, in]
//   TF2      distilbert/{scope}/distilbert/transformer/layer_._{i}/attention/q_lin/kernel:0
//            [in, out]
// and for a head, PyTorch `vocab_transform.weight`, TF2 `vocab_transform/{scope}/
// vocab_transform/kernel:0`: each head is a top-level Keras layer of the TFDistilBert* class.
// BERT's token-type table and next-sentence head have no DistilBERT module and are left out.
#include <deque>

#include "models/distilbert/distilbert.h"

namespace tensorferry {

namespace {

constexpr auto kPt = static_cast<size_t>(Convention::kHfPyTorch);
constexpr auto kTf2 = static_cast<size_t>(Convention::kHfTf2);
constexpr auto kGoogle = static_cast<size_t>(Convention::kGoogleTf1);

// DistilBERT's module (and group) for each BERT module with the same job. Per-layer modules are
// below transformer.layer.{i}. (BERT: encoder.layer.{i}.); the others below the base model, or,
// outside "base", a top-level head.
struct Module {
  std::string_view bert;
  std::string_view distilbert;
  std::string_view group;
};
constexpr Module kModules[] = {
    {"embeddings.word_embeddings", "embeddings.word_embeddings", "base"},
    {"embeddings.position_embeddings", "embeddings.position_embeddings", "base"},
    {"embeddings.LayerNorm", "embeddings.LayerNorm", "base"},
    {"attention.self.query", "attention.q_lin", "base"},
    {"attention.self.key", "attention.k_lin", "base"},
    {"attention.self.value", "attention.v_lin", "base"},
    {"attention.output.dense", "attention.out_lin", "base"},
    {"attention.output.LayerNorm", "sa_layer_norm", "base"},
    {"intermediate.dense", "ffn.lin1", "base"},
    {"output.dense", "ffn.lin2", "base"},
    {"output.LayerNorm", "output_layer_norm", "base"},
    // DistilBertForMaskedLM: transform (dense, activation, LayerNorm) and a projection on the
    // tied word table with its own bias, BERT's cls.predictions under three names.
    {"cls.predictions.transform.dense", "vocab_transform", "mlm"},
    {"cls.predictions.transform.LayerNorm", "vocab_layer_norm", "mlm"},
    {"cls.predictions", "vocab_projector", "mlm"},
    {"cls.predictions.decoder", "vocab_projector", "untied_decoder"},
    // DistilBertForSequenceClassification: an [H, H] dense layer (ReLU) on the first token, then
    // the classifier, as BERT's pooler dense and classifier.
    {"pooler.dense", "pre_classifier", "classifier"},
    {"classifier", "classifier", "classifier"},
    {"qa_outputs", "qa_outputs", "qa"},
};
constexpr std::string_view kBertLayer = "encoder.layer.{i}.";

// Owns the names the derived rows' string_views point into.
std::string_view keep(std::string text) {
  static std::deque<std::string> pool;
  return pool.emplace_back(std::move(text));
}

// A PyTorch module path as Keras scopes it: dots to slashes, and layer.{i} as layer_._{i}.
std::string keras_path(std::string_view dotted) {
  std::string out(dotted);
  for (char& ch : out)
    if (ch == '.') ch = '/';
  const std::string_view layer = "transformer/layer/{i}";
  if (out.starts_with(layer)) out.replace(0, layer.size(), "transformer/layer_._{i}");
  return out;
}

// The DistilBERT module doing the job of the BERT module that holds `bert`; nullptr for none.
const Module* module_for(const ParamRow& bert) {
  std::string_view name = bert.canonical;
  if (bert.per_layer) name.remove_prefix(kBertLayer.size());
  name = name.substr(0, name.rfind('.'));
  for (const Module& m : kModules)
    if (m.bert == name) return &m;
  return nullptr;
}

// BERT's row `bert` for DistilBERT's module `m`; the leaves (weight, bias in PyTorch; kernel:0,
// gamma:0, ... in TF2) are BERT's.
ParamRow renamed(const ParamRow& bert, const Module& m) {
  const bool base = m.group == "base";
  const std::string module =
      (bert.per_layer ? "transformer.layer.{i}." : "") + std::string(m.distilbert);
  const std::string_view leaf = bert.canonical.substr(bert.canonical.rfind('.') + 1);
  ParamRow row = bert;
  row.group = m.group;
  row.canonical = keep(module + "." + std::string(leaf));
  row.stored[kPt].name = keep((base ? "{base}" : "") + std::string(row.canonical));
  if (const std::string_view tf2 = bert.stored[kTf2].name; !tf2.empty()) {
    const std::string path = base ? "distilbert/{scope}/distilbert/" + keras_path(module)
                                  : module + "/{scope}/" + module;
    row.stored[kTf2].name = keep(path + "/" + std::string(tf2.substr(tf2.rfind('/') + 1)));
  }
  row.stored[kGoogle] = {};
  return row;
}

std::vector<ParamRow> distilbert_rows() {
  std::vector<ParamRow> rows;
  for (const ParamRow& bert : bert_family().params())  // BERT's token types, NSP head: none
    if (const Module* m = module_for(bert)) rows.push_back(renamed(bert, *m));
  return rows;
}

}  // namespace

const std::vector<GroupInfo>& DistilBertFamily::groups() const {
  static const std::vector<GroupInfo> groups = {
      {"base", "DistilBERT embeddings and transformer"},
      {"mlm", "masked-LM head (vocab_transform, vocab_layer_norm, vocab_projector)"},
      {"classifier", "sequence-classification head (pre_classifier, classifier)"},
      {"qa", "question-answering head (qa_outputs)"},
      {"untied_decoder",
       "a vocab_projector not tied to the word embeddings (vocab_projector.weight, "
       "tie_word_embeddings false)"},
  };
  return groups;
}

const std::vector<ParamRow>& DistilBertFamily::params() const {
  static const std::vector<ParamRow> rows = distilbert_rows();
  return rows;
}

const std::vector<AliasRow>& DistilBertFamily::aliases() const {
  static const std::vector<AliasRow> rows = [] {
    // DistilBertForMaskedLM's state dict may name the tied projection weight again.
    std::vector<AliasRow> out = {{Convention::kHfPyTorch, "mlm", "vocab_projector.weight",
                                  "embeddings.word_embeddings.weight", false}};
    // Keras tracks the embedding layer the projector holds as a sub-layer of vocab_projector, so
    // save_weights lists the embedding variables a second time there, as BERT's under mlm___cls.
    for (const AliasRow& alias : bert_family().aliases()) {
      if (alias.convention != Convention::kHfTf2 ||
          alias.origin == "embeddings.token_type_embeddings.weight")
        continue;
      std::string name(alias.name);
      name.replace(0, std::string_view("mlm___cls/").size(), "vocab_projector/");
      name.replace(name.find("/bert/"), 6, "/distilbert/");
      out.push_back({alias.convention, "mlm", keep(name), alias.origin, alias.written});
    }
    return out;
  }();
  return rows;
}

const std::vector<BufferRow>& DistilBertFamily::buffers() const {
  static const std::vector<BufferRow> rows = {
      {Convention::kHfPyTorch, "{base}embeddings.position_ids",
       "position-ids buffer (arange; saved by older transformers, rebuilt by the model)"},
  };
  return rows;
}

const std::vector<HfClass>& DistilBertFamily::hf_classes() const {
  // The Dropout layers of the classifier and QA classes are listed (without weights) in the
  // file, after the heads.
  static const std::vector<HfClass> classes = {
      {"DistilBertForMaskedLM",
       {"base", "mlm", "untied_decoder"},
       {"untied_decoder"},
       "distilbert.",
       "tf_distil_bert_for_masked_lm",
       {"distilbert", "vocab_transform", "vocab_layer_norm", "vocab_projector"}},
      {"DistilBertForSequenceClassification",
       {"base", "classifier"},
       {},
       "distilbert.",
       "tf_distil_bert_for_sequence_classification",
       {"distilbert", "pre_classifier", "classifier", "dropout_#"}},
      {"DistilBertForQuestionAnswering",
       {"base", "qa"},
       {},
       "distilbert.",
       "tf_distil_bert_for_question_answering",
       {"distilbert", "qa_outputs", "dropout_#"}},
      {"DistilBertModel", {"base"}, {}, "", "tf_distil_bert_model", {"distilbert"}},
  };
  return classes;
}

const std::vector<FileRow>& DistilBertFamily::files() const {
  // BERT's WordPiece vocabulary and tokenizer files, in the two HF conventions.
  static const std::vector<FileRow> rows = [] {
    std::vector<FileRow> out = bert_family().files();
    for (FileRow& row : out) row.names[kGoogle] = "";
    return out;
  }();
  return rows;
}

const Family& distilbert_family() {
  static const DistilBertFamily family;
  return family;
}

}  // namespace tensorferry
