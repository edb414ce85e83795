// verify's reading of GPT-2 (written from the frameworks' model code, independently of the
// conversion table gpt2_table.cc): the parameters its forward pass reads, by role.
#pragma once

#include "verify/family.h"

namespace tensorferry::verify {
namespace gpt2 {

enum Role {
  kWte,
  kWpe,
  kLn1Scale,
  kLn1Shift,
  kAttnWeight,
  kAttnBias,
  kAttnProjWeight,
  kAttnProjBias,
  kLn2Scale,
  kLn2Shift,
  kFcWeight,
  kFcBias,
  kMlpProjWeight,
  kMlpProjBias,
  kLnfScale,
  kLnfShift,
  kLmHead,
};

// The forward pass (models/gpt2/gpt2_forward.cc).
void run(Pass& p);

}  // namespace gpt2

const Family& gpt2_verify_family();

}  // namespace tensorferry::verify
