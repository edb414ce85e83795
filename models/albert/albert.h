// ALBERT: Google's TF1 checkpoints (google-research/albert: the albert_*.tar.gz releases with
// run_pretraining's MLM and sentence-order heads, classifier_utils' classifier) and Hugging
// Face's AlbertModel, AlbertForPreTraining, AlbertForMaskedLM and AlbertForSequenceClassification
// (PyTorch, TF2). A factorized embedding (width E, mapped to the hidden width H by
// embedding_hidden_mapping_in) and layers that share one set of weights per group.
#pragma once

#include "models/family.h"

namespace tensorferry {

class AlbertFamily final : public Family {
 public:
  std::string_view name() const override { return "albert"; }
  TENSORFERRY_FAMILY_TABLES;
  bool supports(Convention c) const override { return c != Convention::kOpenAiTf1; }
  TENSORFERRY_FAMILY_CONFIG_MAPPING;
  // The name in Google's albert_*.tar.gz releases.
  std::string_view tf1_checkpoint_prefix(Convention c) const override { return "model.ckpt-best"; }

  void bind_symbol(ModelConfig& config, char symbol, uint64_t value) const override;
  std::vector<std::string> tf2_layer_names(const HfClass& c,
                                           const ModelConfig& config) const override;
};

const Family& albert_family();

}  // namespace tensorferry
