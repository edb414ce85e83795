// verify's reading of ALBERT (written from google-research/albert modeling.py and transformers'
// modeling_albert.py / modeling_tf_albert.py, independently of the conversion table
// albert_table.cc): the parameters its forward pass reads, by role. Per-layer roles are stored
// once per layer group; layer l of the depth reads group l * groups / layers.
#pragma once

#include "verify/family.h"

namespace tensorferry::verify {
namespace albert {

// Numbered after BERT's roles (models/bert/bert_verify.h), which the same tables hold for the
// modules ALBERT shares with BERT (embeddings, each block's attention and feed-forward, pooler,
// masked-LM head, classifier) under its own names; the roles below are ALBERT's own.
enum Role {
  kMappingWeight = 1000,
  kMappingBias,
  kSopWeight,
  kSopBias,
};

// The forward pass (models/albert/albert_forward.cc).
void run(Pass& p);

}  // namespace albert

const Family& albert_verify_family();

}  // namespace tensorferry::verify
