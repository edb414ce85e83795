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

// BERT's embeddings (word + token type + the position rows `positions`, LayerNorm) and encoder
// layers, the stages every model of the lineage that keeps BERT's roles shares; without
// `token_types` (DistilBERT) the embeddings have no token-type rows. False when a stage could
// not be computed.
bool run_encoder(Pass& p, const std::vector<int64_t>& positions, bool token_types = true);

// The keys BERT and its successors share (sizes, activation, epsilon), read as BertConfig
// (HF; `hf_vocab` is the config class's default vocabulary) or Google's BertConfig reads them.
ModelConfig read_bert_encoder(Convention convention, const ConfigReader& r, int64_t hf_vocab);

}  // namespace bert

const Family& bert_verify_family();

}  // namespace tensorferry::verify
