// ELECTRA (google-research/electra model/modeling.py; HF ElectraModel / TFElectraModel): BERT's
// embeddings at width E, projected to the hidden width by embeddings_project when the widths
// differ (part of the "embeddings" stage), BERT's post-LayerNorm blocks, and the heads the
// checkpoint carries: the discriminator's per-token logit (dense, act, dense to 1), the
// generator's masked-LM logits (dense to E, gelu, LayerNorm, the tied word table, a bias) and
// ElectraClassificationHead (dense, gelu, out_proj on the first token).
#include "models/bert/bert_verify.h"
#include "models/electra/electra_verify.h"
#include "verify/blocks.h"

namespace tensorferry::verify::electra {

void run(Pass& p) {
  using namespace bert;  // the embedding roles and encoder
  const ModelConfig& c = p.c;
  ModelWeights& w = p.w;
  bool ok = p.embeddings([&] {
    Matrix e = embedding_rows(p, p.flat.positions, c.embedding_size);
    // transformers and Google's code both project only when the widths differ.
    return c.embedding_size == c.hidden ? e
                                        : apply(w, {kProjectWeight, kProjectBias}, 0, e, c.hidden);
  });
  ok = ok && run_encoder_layers(p, [](int i) { return i; });
  if (!ok) return;

  if (w.has(kDiscOutWeight, 0))
    p.record.run("discriminator logits", -1, true, p.offsets, [&] {
      Matrix x = apply(w, {kDiscDenseWeight, kDiscDenseBias}, 0, p.h, c.hidden);
      activate(x, c.activation);
      return apply(w, {kDiscOutWeight, kDiscOutBias}, 0, x, 1);
    });
  EncoderHeads heads(p.record, w, c, p.h, p.offsets);
  // ElectraGeneratorPredictions and ElectraClassificationHead apply "gelu" whatever hidden_act.
  heads.masked_lm({{kGenDenseWeight, kGenDenseBias},
                   Activation::kGeluErf,
                   {kGenLnScale, kGenLnShift},
                   kWordEmb,
                   std::nullopt,
                   kGenBias,
                   c.embedding_size});
  heads.first_token("classifier logits", {kClsDenseWeight, kClsDenseBias}, Activation::kGeluErf,
                    {kClsOutWeight, kClsOutBias});
}

}  // namespace tensorferry::verify::electra
