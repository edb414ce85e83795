// BERT (and checkpoints that use BERT's names: SpanBERT, MiniLM, ...): Google's TF1 checkpoints
// (bert_model.ckpt with the run_pretraining / run_classifier / run_squad heads) and Hugging Face's
// BertModel, BertForPreTraining, BertForMaskedLM, BertForNextSentencePrediction,
// BertForSequenceClassification and BertForQuestionAnswering (PyTorch, TF2).
#pragma once

#include "models/family.h"

namespace tensorferry {

// Not final: RoBERTa (models/roberta/) is BERT with other names, heads and config defaults.
class BertFamily : public Family {
 public:
  std::string_view name() const override { return "bert"; }
  TENSORFERRY_FAMILY_TABLES;
  bool supports(Convention c) const override { return c != Convention::kOpenAiTf1; }
  TENSORFERRY_FAMILY_CONFIG_MAPPING;
  std::string_view tf1_checkpoint_prefix(Convention c) const override { return "bert_model.ckpt"; }

  std::string normalize_source_name(Convention c, const std::string& name) const override;
  bool group_enabled(const ModelConfig& config, std::string_view group) const override;
  void bind_symbol(ModelConfig& config, char symbol, uint64_t value) const override;
  std::vector<std::string> tf2_layer_names(const HfClass& c,
                                           const ModelConfig& config) const override;

 protected:
  // The config class's defaults as transformers 4.57.6 serialises them (BertConfig()).
  virtual const nlohmann::json& hf_defaults() const;
};

const Family& bert_family();

}  // namespace tensorferry
