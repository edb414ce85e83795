// GPT-2: OpenAI's TF1 checkpoints and Hugging Face's GPT2Model / GPT2LMHeadModel (PyTorch, TF2).
#pragma once

#include "models/family.h"

namespace tensorferry {

class Gpt2Family final : public Family {
 public:
  std::string_view name() const override { return "gpt2"; }
  const std::vector<GroupInfo>& groups() const override;
  const std::vector<ParamRow>& params() const override;
  const std::vector<AliasRow>& aliases() const override;
  const std::vector<BufferRow>& buffers() const override;
  const std::vector<HfClass>& hf_classes() const override;
  const std::vector<FileRow>& files() const override;
  bool supports(Convention c) const override { return c != Convention::kGoogleTf1; }
  std::string_view config_file(Convention c) const override;

  bool matches_hf_config(const nlohmann::json& config) const override;
  ModelConfig read_config(Convention c, const std::string& text,
                          const std::string& file) const override;
  std::vector<std::string> check_expressible(Convention target, const ModelConfig& config,
                                             const std::vector<std::string>& groups) const override;
  std::string write_config(Convention target, const ModelConfig& config,
                           const HfClass* hf_class) const override;
  std::vector<std::string> complete_config(Convention c, ModelConfig& config,
                                           const FolderFileReader& read) const override;
  std::vector<GeneratedFile> generated_files(Convention from, Convention to,
                                             const ModelConfig& config) const override;
  bool group_enabled(const ModelConfig& config, std::string_view group) const override;
  std::string normalize_source_name(Convention c, const std::string& name) const override;
};

const Family& gpt2_family();

}  // namespace tensorferry
