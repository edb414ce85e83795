// ELECTRA: Google's TF1 pre-training checkpoints (google-research/electra: one checkpoint holding
// the discriminator and a smaller generator that share electra/embeddings) and Hugging Face's
// ElectraModel, ElectraForPreTraining (the discriminator), ElectraForMaskedLM (the generator)
// and ElectraForSequenceClassification (PyTorch, TF2). Its encoder is BERT's; the embeddings
// have their own width E, projected to the hidden width by embeddings_project when they differ.
//
// The two networks of a Google checkpoint are two families over one table: `electra` reads and
// writes the discriminator's names (electra/..., discriminator_predictions/...), and
// `electra-generator` the generator's (generator/..., generator_predictions/..., and the shared
// electra/embeddings). A Google folder converts to the discriminator, or with --class
// ElectraForMaskedLM to the generator: two HF folders from one checkpoint.
#pragma once

#include "models/family.h"

namespace tensorferry {

class ElectraFamily final : public Family {
 public:
  explicit ElectraFamily(bool generator);

  std::string_view name() const override { return generator_ ? "electra-generator" : "electra"; }
  TENSORFERRY_FAMILY_TABLES;
  bool supports(Convention c) const override { return c != Convention::kOpenAiTf1; }
  TENSORFERRY_FAMILY_CONFIG_MAPPING;
  std::string_view tf1_checkpoint_prefix(Convention c) const override { return "model.ckpt"; }

  bool group_enabled(const ModelConfig& config, std::string_view group) const override;
  bool group_required(const ModelConfig& config, std::string_view group) const override;
  void bind_symbol(ModelConfig& config, char symbol, uint64_t value) const override;
  std::string unmatched_reason(Convention c, const std::string& name) const override;
  const Family& for_hf_class(std::string_view hf_class) const override;

 private:
  bool generator_;
  std::vector<ParamRow> rows_;
};

const Family& electra_family();
const Family& electra_generator_family();

}  // namespace tensorferry
