// RoBERTa (HF RobertaModel / TFRobertaModel): BERT's post-LayerNorm encoder, with position ids
// that start at padding_idx + 1 and skip padding tokens (which take padding_idx itself:
// create_position_ids_from_input_ids), one token type, and the heads RoBERTa's classes carry:
// pooler (RobertaModel), masked-LM logits (dense, GELU, LayerNorm, tied decoder + bias),
// sequence classification (dense, tanh, out_proj on the first token), token classification and
// QA start/end logits.
#include "models/roberta/roberta_verify.h"
#include "verify/blocks.h"

namespace tensorferry::verify::roberta {
namespace {

// Position ids as create_position_ids_from_input_ids: padding_idx + the count of non-padding
// tokens so far in the sequence, padding_idx for a padding token.
std::vector<int64_t> position_ids(const FlatTokens& flat, int64_t padding_idx) {
  std::vector<int64_t> ids(flat.tokens.size());
  int64_t seen = 0;
  for (size_t r = 0; r < ids.size(); ++r) {
    if (flat.positions[r] == 0) seen = 0;  // a new sequence
    if (flat.tokens[r] == padding_idx) {
      ids[r] = padding_idx;
    } else {
      ids[r] = padding_idx + ++seen;
    }
  }
  return ids;
}

}  // namespace

void run(Pass& p) {
  using namespace bert;  // NOLINT: the encoder's roles are BERT's
  if (!run_encoder(p, position_ids(p.flat, p.c.pad_token_id))) return;
  EncoderHeads heads(p.record, p.w, p.c, p.h, p.offsets);
  heads.pooler({kPoolerWeight, kPoolerBias}, Activation::kTanh);
  // RobertaLMHead applies gelu (erf) whatever hidden_act says.
  heads.masked_lm({{kLmDenseWeight, kLmDenseBias},
                   Activation::kGeluErf,
                   {kLmNormScale, kLmNormShift},
                   kWordEmb,
                   kLmDecoder,
                   kLmBias});
  heads.first_token("classifier logits", {kClassifierDenseWeight, kClassifierDenseBias},
                    Activation::kTanh, {kClassifierOutWeight, kClassifierOutBias});
  heads.per_token("token logits", {kTokenClassifierWeight, kTokenClassifierBias});
  heads.question_answering({kQaWeight, kQaBias});
}

}  // namespace tensorferry::verify::roberta
