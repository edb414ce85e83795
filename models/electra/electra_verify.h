// verify's reading of ELECTRA (written from google-research/electra model/modeling.py and
// run_pretraining.py and transformers' modeling_electra.py / modeling_tf_electra.py,
// independently of the conversion table electra_table.cc). Its embeddings and encoder are
// BERT's modules, so their roles are BERT's (models/bert/bert_verify.h) with ELECTRA's names;
// the roles below are ELECTRA's own. `electra` reads a Google checkpoint's discriminator,
// `electra-generator` its generator.
#pragma once

#include "verify/family.h"

namespace tensorferry::verify {
namespace electra {

// Numbered after BERT's roles, which the same table holds.
enum Role {
  kProjectWeight = 1000,
  kProjectBias,
  kDiscDenseWeight,
  kDiscDenseBias,
  kDiscOutWeight,
  kDiscOutBias,
  kGenDenseWeight,
  kGenDenseBias,
  kGenLnScale,
  kGenLnShift,
  kGenBias,
  kClsDenseWeight,
  kClsDenseBias,
  kClsOutWeight,
  kClsOutBias,
};

// The forward pass (models/electra/electra_forward.cc).
void run(Pass& p);

}  // namespace electra

const Family& electra_verify_family();
const Family& electra_generator_verify_family();

}  // namespace tensorferry::verify
