// BERT (Google modeling.py; HF BertModel / TFBertModel): post-LayerNorm blocks,
//   x = LN(x + attn_out(attention(q(x), k(x), v(x))));  x = LN(x + out(act(intermediate(x))));
// and every head the checkpoint carries: pooler (tanh dense on the first token), masked-LM
// logits (dense, act, LN, then the token table tied, plus a bias), next-sentence logits,
// sequence-classification logits (both on the pooled output), and SQuAD start/end logits.
#include "models/bert/bert_verify.h"
#include "verify/blocks.h"

namespace tensorferry::verify::bert {

Matrix embedding_rows(Pass& p, const std::vector<int64_t>& positions, int64_t width,
                      bool token_types) {
  const std::optional<Param> types = token_types ? std::optional<Param>(kTypeEmb) : std::nullopt;
  return encoder_embeddings(p.w, p.c, {kWordEmb, types, kPosEmb, {kEmbLnScale, kEmbLnShift}},
                            p.flat, positions, width);
}

bool run_encoder_layers(Pass& p, const std::function<int(int)>& stored_layer) {
  const SelfAttention attention = {{kQueryWeight, kQueryBias},
                                   {kKeyWeight, kKeyBias},
                                   {kValueWeight, kValueBias},
                                   {kAttnOutWeight, kAttnOutBias},
                                   {kAttnLnScale, kAttnLnShift}};
  const FeedForward mlp = {
      {kInterWeight, kInterBias}, {kOutWeight, kOutBias}, {kOutLnScale, kOutLnShift}};
  return run_layers(
      p.record, p.c.layers, p.offsets, p.h,
      [&](int i, Matrix& x) {
        post_norm_attention(p.w, p.c, attention, stored_layer(i), p.offsets, x);
      },
      [&](int i, Matrix& x) { post_norm_mlp(p.w, p.c, mlp, stored_layer(i), x); });
}

bool run_encoder(Pass& p, const std::vector<int64_t>& positions, bool token_types) {
  const bool ok =
      p.embeddings([&] { return embedding_rows(p, positions, p.c.hidden, token_types); });
  return ok && run_encoder_layers(p, [](int i) { return i; });
}

void run_pooler_and_mlm(EncoderHeads& heads, const ModelConfig& c,
                        std::optional<Param> untied_decoder, int64_t width) {
  heads.pooler({kPoolerWeight, kPoolerBias}, Activation::kTanh);
  heads.masked_lm({{kMlmDenseWeight, kMlmDenseBias},
                   c.activation,
                   {kMlmLnScale, kMlmLnShift},
                   kWordEmb,
                   untied_decoder,
                   kMlmBias,
                   width});
}

void run(Pass& p) {
  if (!run_encoder(p, p.flat.positions)) return;
  const ModelConfig& c = p.c;
  ModelWeights& w = p.w;

  // The heads read the encoder output; each is independent of the others except that the
  // next-sentence and classifier heads read the pooler's output.
  EncoderHeads heads(p.record, w, c, p.h, p.offsets);
  run_pooler_and_mlm(heads, c, kMlmDecoder, 0);
  heads.pooled("nsp logits", {kNspWeight, kNspBias}, 2);
  // As many labels as the stored classifier has (HF builds it from config.num_labels, Google's
  // run_classifier from its task; neither is in every config file).
  heads.pooled("classifier logits", {kClassifierWeight, kClassifierBias}, 0);
  heads.question_answering({kQaWeight, kQaBias});
}

}  // namespace tensorferry::verify::bert
