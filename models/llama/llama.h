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
  TENSORFERRY_FAMILY_TABLES;
  bool supports(Convention c) const override { return c == Convention::kHfPyTorch; }
  TENSORFERRY_FAMILY_CONFIG_MAPPING;

  bool group_enabled(const ModelConfig& config, std::string_view group) const override;
  bool group_required(const ModelConfig& config, std::string_view group) const override;
};

const Family& llama_family();

}  // namespace tensorferry
