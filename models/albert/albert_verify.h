// verify's reading of ALBERT (written from google-research/albert modeling.py and transformers'
// modeling_albert.py / modeling_tf_albert.py, independently of the conversion table
// albert_table.cc): the parameters its forward pass reads, by role. Per-layer roles are stored
// once per layer group; layer l of the depth reads group l * groups / layers.
#pragma once

#include "verify/family.h"

namespace tensorferry::verify {
namespace albert {

enum Role {
  kWordEmb,
  kPosEmb,
  kTypeEmb,
  kEmbLnScale,
  kEmbLnShift,
  kMappingWeight,
  kMappingBias,
  kQueryWeight,
  kQueryBias,
  kKeyWeight,
  kKeyBias,
  kValueWeight,
  kValueBias,
  kAttnOutWeight,
  kAttnOutBias,
  kAttnLnScale,
  kAttnLnShift,
  kFfnWeight,
  kFfnBias,
  kFfnOutWeight,
  kFfnOutBias,
  kFfnLnScale,
  kFfnLnShift,
  kPoolerWeight,
  kPoolerBias,
  kMlmDenseWeight,
  kMlmDenseBias,
  kMlmLnScale,
  kMlmLnShift,
  kMlmBias,
  kSopWeight,
  kSopBias,
  kClassifierWeight,
  kClassifierBias,
};

// The forward pass (models/albert/albert_forward.cc).
void run(Pass& p);

}  // namespace albert

const Family& albert_verify_family();

}  // namespace tensorferry::verify
