// DistilBERT (config.json model_type "distilbert"): BERT's post-LayerNorm encoder with six layers
// by default, no token types, its own module names (transformer.layer.N.attention.q_lin, ...,
// sa_layer_norm, ffn.lin1/lin2, output_layer_norm) and config keys (dim, n_layers, n_heads,
// hidden_dim, activation). Hugging Face's DistilBertModel, DistilBertForMaskedLM,
// DistilBertForSequenceClassification and DistilBertForQuestionAnswering, PyTorch and TF2; no TF1
// release exists.
#pragma once

#include "models/bert/bert.h"

namespace tensorferry {

// BERT's behaviour where the two agree (the tied MLM decoder, the Keras Dropout numbering,
// the labels a classifier's tensors bind); its own table, config keys and classes.
class DistilBertFamily final : public BertFamily {
 public:
  std::string_view name() const override { return "distilbert"; }
  bool supports(Convention c) const override { return is_hf(c); }

  // The table (distilbert_table.cc): BERT's rows for the modules with the same jobs, renamed.
  const std::vector<ParamRow>& params() const override;
  const std::vector<AliasRow>& aliases() const override;
  const std::vector<BufferRow>& buffers() const override;

  // The config (distilbert_config.cc): DistilBertConfig's keys, and what TF2 cannot run.
  ModelConfig read_config(Convention c, const std::string& text,
                          const std::string& file) const override;
  std::string write_config(Convention target, const ModelConfig& config,
                           const HfClass* hf_class) const override;
  bool matches_hf_config(const nlohmann::json& config) const override;
  std::vector<std::string> check_expressible(Convention target, const ModelConfig& config,
                                             const std::vector<std::string>& groups) const override;

  // The classes, their heads and the files beside the weights (distilbert_table.cc).
  const std::vector<HfClass>& hf_classes() const override;
  const std::vector<GroupInfo>& groups() const override;
  const std::vector<FileRow>& files() const override;

 protected:
  const nlohmann::json& hf_defaults() const override;
};

const Family& distilbert_family();

}  // namespace tensorferry
