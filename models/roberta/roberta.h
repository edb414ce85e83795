// RoBERTa and XLM-RoBERTa (config.json model_type "roberta", "xlm-roberta": the same tensors):
// BERT's embeddings and encoder under the name "roberta", one token type, position ids that
// start at padding_idx + 1, and their own heads (lm_head; a classification head with its own
// dense layer instead of BERT's pooler). Hugging Face's RobertaModel, RobertaForMaskedLM,
// RobertaForSequenceClassification, RobertaForTokenClassification, RobertaForQuestionAnswering
// and the XLMRoberta* classes, PyTorch and TF2.
#pragma once

#include "models/bert/bert.h"

namespace tensorferry {

class RobertaFamily final : public BertFamily {
 public:
  std::string_view name() const override { return "roberta"; }
  const std::vector<GroupInfo>& groups() const override;
  const std::vector<ParamRow>& params() const override;
  const std::vector<AliasRow>& aliases() const override;
  const std::vector<HfClass>& hf_classes() const override;
  const std::vector<FileRow>& files() const override;
  bool supports(Convention c) const override { return is_hf(c); }
  bool matches_hf_config(const nlohmann::json& config) const override;

 protected:
  const nlohmann::json& hf_defaults() const override;
};

const Family& roberta_family();

}  // namespace tensorferry
