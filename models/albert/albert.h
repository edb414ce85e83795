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
  const std::vector<GroupInfo>& groups() const override;
  const std::vector<ParamRow>& params() const override;
  const std::vector<AliasRow>& aliases() const override;
  const std::vector<BufferRow>& buffers() const override;
  const std::vector<HfClass>& hf_classes() const override;
  const std::vector<FileRow>& files() const override;
  bool supports(Convention c) const override { return c != Convention::kOpenAiTf1; }
  std::string_view config_file(Convention c) const override;
  // The name in Google's albert_*.tar.gz releases.
  std::string_view tf1_checkpoint_prefix(Convention c) const override { return "model.ckpt-best"; }

  bool matches_hf_config(const nlohmann::json& config) const override;
  ModelConfig read_config(Convention c, const std::string& text,
                          const std::string& file) const override;
  std::vector<std::string> check_expressible(Convention target, const ModelConfig& config,
                                             const std::vector<std::string>& groups) const override;
  std::string write_config(Convention target, const ModelConfig& config,
                           const HfClass* hf_class) const override;
  void bind_symbol(ModelConfig& config, char symbol, uint64_t value) const override;
  std::vector<std::string> tf2_layer_names(const HfClass& c,
                                           const ModelConfig& config) const override;
};

const Family& albert_family();

}  // namespace tensorferry
