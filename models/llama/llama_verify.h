// verify's reading of LLaMA, Mistral and Qwen2 (written from transformers' model code,
// independently of the conversion table llama_table.cc): the parameters its forward pass reads,
// by role.
#pragma once

#include "verify/family.h"

namespace tensorferry::verify {
namespace llama {

enum Role {
  kEmbed,
  kAttnNorm,
  kQWeight,
  kQBias,
  kKWeight,
  kKBias,
  kVWeight,
  kVBias,
  kOWeight,
  kOBias,
  kMlpNorm,
  kGateWeight,
  kGateBias,
  kUpWeight,
  kUpBias,
  kDownWeight,
  kDownBias,
  kNorm,
  kLmHead,
};

// The forward pass (models/llama/llama_forward.cc).
void run(Pass& p);

}  // namespace llama

const Family& llama_verify_family();

}  // namespace tensorferry::verify
