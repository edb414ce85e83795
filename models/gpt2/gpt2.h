// GPT-2: OpenAI's TF1 checkpoints and Hugging Face's GPT2Model / GPT2LMHeadModel (PyTorch, TF2).
#pragma once

#include "models/family.h"

namespace tensorferry {

class Gpt2Family final : public Family {
 public:
  std::string_view name() const override { return "gpt2"; }
  TENSORFERRY_FAMILY_TABLES;
  bool supports(Convention c) const override { return c != Convention::kGoogleTf1; }
  TENSORFERRY_FAMILY_CONFIG_MAPPING;

  std::vector<std::string> complete_config(Convention c, ModelConfig& config,
                                           const FolderFileReader& read) const override;
  std::vector<GeneratedFile> generated_files(Convention from, Convention to,
                                             const ModelConfig& config) const override;
  bool group_enabled(const ModelConfig& config, std::string_view group) const override;
  std::string normalize_source_name(Convention c, const std::string& name) const override;
};

const Family& gpt2_family();

}  // namespace tensorferry
