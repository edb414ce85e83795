// verify's reading of RoBERTa and XLM-RoBERTa (written from transformers' modeling_roberta.py and
// modeling_tf_roberta.py, independently of the conversion table roberta_table.cc): BERT's
// embeddings, encoder, pooler and QA head (bert::Role, the same names under "roberta"), and
// RoBERTa's own heads.
#pragma once

#include "models/bert/bert_verify.h"

namespace tensorferry::verify {
namespace roberta {

enum Role {
  kLmDenseWeight = bert::kQaBias + 1,  // after BERT's roles: one table holds both
  kLmDenseBias,
  kLmNormScale,
  kLmNormShift,
  kLmBias,
  kLmDecoder,
  kClassifierDenseWeight,
  kClassifierDenseBias,
  kClassifierOutWeight,
  kClassifierOutBias,
  kTokenClassifierWeight,
  kTokenClassifierBias,
};

// The forward pass (models/roberta/roberta_forward.cc).
void run(Pass& p);

}  // namespace roberta

const Family& roberta_verify_family();

}  // namespace tensorferry::verify
