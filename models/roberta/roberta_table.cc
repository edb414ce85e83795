// The RoBERTa table. Shape symbols as BERT's (V, P, H, I, T, C). The embeddings, the encoder and
// the pooler are BERT's rows with the TF2 main layer "roberta" instead of "bert" (checked against
// tf_model.h5 of TFRobertaModel and TFXLMRobertaForMaskedLM, transformers 4.57.6 / TF 2.15); the
// heads are RoBERTa's own (modeling_roberta.py / modeling_tf_roberta.py). No TF1 release exists.
#include "models/encoder_rows.h"
#include "models/roberta/roberta.h"

namespace tensorferry {

namespace {
constexpr Layout kSame = Layout::kSame;
constexpr Layout kT = Layout::kTranspose;

// BERT's TF2 name with every path segment "bert" renamed to "roberta", and a Keras layer group
// `from` renamed to `to` ("mlm___cls" -> "lm_head").
std::string_view renamed(std::string_view bert_name, std::string_view from = "",
                         std::string_view to = "") {
  std::string out;
  size_t start = 0;
  while (start <= bert_name.size()) {
    size_t slash = bert_name.find('/', start);
    if (slash == std::string_view::npos) slash = bert_name.size();
    const std::string_view segment = bert_name.substr(start, slash - start);
    out += segment == "bert" ? "roberta" : (!from.empty() && segment == from) ? to : segment;
    if (slash < bert_name.size()) out += '/';
    start = slash + 1;
  }
  return keep_name(std::move(out));
}

}  // namespace

const std::vector<GroupInfo>& RobertaFamily::groups() const {
  static const std::vector<GroupInfo> groups = {
      {"base", "RoBERTa embeddings and encoder"},
      {"pooler", "pooler (roberta.pooler.dense)"},
      {"mlm", "masked-LM head (lm_head)"},
      {"classifier", "sequence-classification head (classifier.dense, classifier.out_proj)"},
      {"token_classifier", "token-classification head (classifier)"},
      {"qa", "question-answering head (qa_outputs)"},
  };
  return groups;
}

const std::vector<ParamRow>& RobertaFamily::params() const {
#define MLM_TF2 "lm_head/{scope}/lm_head/"
#define CLS_TF2 "classifier/{scope}/classifier/"
  // clang-format off
  static const std::vector<ParamRow> heads = {
      {"mlm", false, "lm_head.bias", "V",
       {{{"lm_head.bias", "V", kSame}, {MLM_TF2 "bias:0", "V", kSame}, {}, {}}}},
      {"mlm", false, "lm_head.dense.weight", "H,H",
       {{{"lm_head.dense.weight", "H,H", kSame}, {MLM_TF2 "dense/kernel:0", "H,H", kT}, {}, {}}}},
      {"mlm", false, "lm_head.dense.bias", "H",
       {{{"lm_head.dense.bias", "H", kSame}, {MLM_TF2 "dense/bias:0", "H", kSame}, {}, {}}}},
      {"mlm", false, "lm_head.layer_norm.weight", "H",
       {{{"lm_head.layer_norm.weight", "H", kSame}, {MLM_TF2 "layer_norm/gamma:0", "H", kSame}, {}, {}}}},
      {"mlm", false, "lm_head.layer_norm.bias", "H",
       {{{"lm_head.layer_norm.bias", "H", kSame}, {MLM_TF2 "layer_norm/beta:0", "H", kSame}, {}, {}}}},
      {"classifier", false, "classifier.dense.weight", "H,H",
       {{{"classifier.dense.weight", "H,H", kSame}, {CLS_TF2 "dense/kernel:0", "H,H", kT}, {}, {}}}},
      {"classifier", false, "classifier.dense.bias", "H",
       {{{"classifier.dense.bias", "H", kSame}, {CLS_TF2 "dense/bias:0", "H", kSame}, {}, {}}}},
      {"classifier", false, "classifier.out_proj.weight", "C,H",
       {{{"classifier.out_proj.weight", "C,H", kSame}, {CLS_TF2 "out_proj/kernel:0", "H,C", kT}, {}, {}}}},
      {"classifier", false, "classifier.out_proj.bias", "C",
       {{{"classifier.out_proj.bias", "C", kSame}, {CLS_TF2 "out_proj/bias:0", "C", kSame}, {}, {}}}},
      {"token_classifier", false, "classifier.weight", "C,H",
       {{{"classifier.weight", "C,H", kSame}, {CLS_TF2 "kernel:0", "H,C", kT}, {}, {}}}},
      {"token_classifier", false, "classifier.bias", "C",
       {{{"classifier.bias", "C", kSame}, {CLS_TF2 "bias:0", "C", kSame}, {}, {}}}},
      {"qa", false, "qa_outputs.weight", "2,H",
       {{{"qa_outputs.weight", "2,H", kSame}, {"qa_outputs/{scope}/qa_outputs/kernel:0", "H,2", kT}, {}, {}}}},
      {"qa", false, "qa_outputs.bias", "2",
       {{{"qa_outputs.bias", "2", kSame}, {"qa_outputs/{scope}/qa_outputs/bias:0", "2", kSame}, {}, {}}}},
  };
  // clang-format on
#undef MLM_TF2
#undef CLS_TF2
  static const std::vector<ParamRow> rows = [] {
    std::vector<ParamRow> out;
    for (ParamRow row : bert_family().params()) {
      if (row.group != "base" && row.group != "pooler") continue;
      auto& tf2 = row.stored[static_cast<size_t>(Convention::kHfTf2)];
      tf2.name = renamed(tf2.name);
      row.stored[static_cast<size_t>(Convention::kGoogleTf1)] = {};
      out.push_back(row);
    }
    out.insert(out.end(), heads.begin(), heads.end());
    return out;
  }();
  return rows;
}

const std::vector<AliasRow>& RobertaFamily::aliases() const {
  static const std::vector<AliasRow> rows = [] {
    // PyTorch state dicts of the MLM classes name the tied decoder weight and bias again.
    std::vector<AliasRow> out = {
        {Convention::kHfPyTorch, "mlm", "lm_head.decoder.weight",
         "embeddings.word_embeddings.weight", false},
        {Convention::kHfPyTorch, "mlm", "lm_head.decoder.bias", "lm_head.bias", false},
    };
    // Keras lists the embeddings a second time under lm_head, as it does under BERT's mlm___cls.
    for (const AliasRow& alias : bert_family().aliases())
      if (alias.convention == Convention::kHfTf2)
        out.push_back({alias.convention, "mlm", renamed(alias.name, "mlm___cls", "lm_head"),
                       alias.origin, alias.written});
    return out;
  }();
  return rows;
}

const std::vector<HfClass>& RobertaFamily::hf_classes() const {
  static const std::vector<HfClass> classes = [] {
    // RobertaForMaskedLM and the heads build the encoder without its pooler.
    const std::vector<HfClass> roberta = {
        {"RobertaForMaskedLM",
         {"base", "mlm"},
         {},
         "roberta.",
         "tf_roberta_for_masked_lm",
         {"roberta", "lm_head"}},
        {"RobertaForSequenceClassification",
         {"base", "classifier"},
         {},
         "roberta.",
         "tf_roberta_for_sequence_classification",
         {"roberta", "classifier"}},
        {"RobertaForTokenClassification",
         {"base", "token_classifier"},
         {},
         "roberta.",
         "tf_roberta_for_token_classification",
         {"roberta", "dropout_#", "classifier"}},
        {"RobertaForQuestionAnswering",
         {"base", "qa"},
         {},
         "roberta.",
         "tf_roberta_for_question_answering",
         {"roberta", "qa_outputs"}},
        {"RobertaModel", {"base", "pooler"}, {"pooler"}, "", "tf_roberta_model", {"roberta"}},
    };
    // XLM-RoBERTa: the same classes and tensors under other names ("tfxlm_..." Keras scopes).
    std::vector<HfClass> out = roberta;
    for (HfClass c : roberta) {
      c.name = keep_name("XLM" + std::string(c.name));
      c.tf2_scope = keep_name("tfxlm_" + std::string(c.tf2_scope.substr(3)));
      out.push_back(std::move(c));
    }
    return out;
  }();
  return classes;
}

const std::vector<FileRow>& RobertaFamily::files() const {
  static const std::vector<FileRow> rows = with_hf_tokenizer_files(
      {{{"vocab.json", "vocab.json", "", ""}, false},
       {{"merges.txt", "merges.txt", "", ""}, false},
       {{"sentencepiece.bpe.model", "sentencepiece.bpe.model", "", ""}, false}},
      true);
  return rows;
}

const Family& roberta_family() {
  static const RobertaFamily family;
  return family;
}

}  // namespace tensorferry
