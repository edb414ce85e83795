// The LLaMA family: Hugging Face LlamaModel / LlamaForCausalLM and the models that share its
// layout and names, MistralModel / MistralForCausalLM and Qwen2Model / Qwen2ForCausalLM
// (config.json model_type "llama", "mistral", "qwen2"). Pre-RMSNorm decoder blocks with rotary
// position embeddings, grouped-query attention and a SwiGLU MLP; Qwen2 adds q/k/v biases.
#pragma once

#include "models/family.h"

namespace tensorferry {

class LlamaFamily final : public Family {
 public:
  std::string_view name() const override { return "llama"; }
  const std::vector<GroupInfo>& groups() const override;
  const std::vector<ParamRow>& params() const override;
  const std::vector<AliasRow>& aliases() const override;
  const std::vector<BufferRow>& buffers() const override;
  const std::vector<HfClass>& hf_classes() const override;
  const std::vector<FileRow>& files() const override;
  bool supports(Convention c) const override { return c == Convention::kHfPyTorch; }
  std::string_view config_file(Convention c) const override;

  bool matches_hf_config(const nlohmann::json& config) const override;
  ModelConfig read_config(Convention c, const std::string& text,
                          const std::string& file) const override;
  std::vector<std::string> check_expressible(Convention target, const ModelConfig& config,
                                             const std::vector<std::string>& groups) const override;
  std::string write_config(Convention target, const ModelConfig& config,
                           const HfClass* hf_class) const override;
  bool group_enabled(const ModelConfig& config, std::string_view group) const override;
  bool group_required(const ModelConfig& config, std::string_view group) const override;
};

const Family& llama_family();

}  // namespace tensorferry
