// verify's reading of BERT (written from google-research/bert and transformers' model code,
// independently of the conversion table bert_table.cc): the parameters its forward pass reads,
// by role.
#pragma once

#include "verify/family.h"

namespace tensorferry::verify {
namespace bert {

enum Role {
  kWordEmb,
  kPosEmb,
  kTypeEmb,
  kEmbLnScale,
  kEmbLnShift,
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
  kInterWeight,
  kInterBias,
  kOutWeight,
  kOutBias,
  kOutLnScale,
  kOutLnShift,
  kPoolerWeight,
  kPoolerBias,
  kMlmDenseWeight,
  kMlmDenseBias,
  kMlmLnScale,
  kMlmLnShift,
  kMlmBias,
  kMlmDecoder,
  kNspWeight,
  kNspBias,
  kClassifierWeight,
  kClassifierBias,
  kQaWeight,
  kQaBias,
};

// The forward pass (models/bert/bert_forward.cc).
void run(Pass& p);

}  // namespace bert

const Family& bert_verify_family();

}  // namespace tensorferry::verify
