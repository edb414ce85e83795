// verify's reading of DistilBERT (written from transformers' modeling_distilbert.py and
// modeling_tf_distilbert.py, independently of the conversion table distilbert_table.cc). Its
// modules do the jobs of BERT's, so its roles are BERT's (models/bert/bert_verify.h) under
// DistilBERT's names, with no token-type table; pre_classifier, the [H, H] dense layer of the
// sequence classifier, takes the role of BERT's pooler dense.
#pragma once

#include "verify/family.h"

namespace tensorferry::verify {
namespace distilbert {

// The forward pass (models/distilbert/distilbert_forward.cc).
void run(Pass& p);

}  // namespace distilbert

const Family& distilbert_verify_family();

}  // namespace tensorferry::verify
