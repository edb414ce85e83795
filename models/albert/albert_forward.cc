// ALBERT (google-research/albert modeling.py; HF AlbertModel / TFAlbertModel): embeddings of
// width E, mapped to the hidden width H by embedding_hidden_mapping_in (part of the
// "embeddings" stage), then BERT's post-LayerNorm blocks where layer l applies the weights of
// group l * groups / layers (one group: one set of weights for the whole depth), and the heads
// the checkpoint carries: pooler, masked-LM logits (transform to E, tied to the [V, E] word
// table), sentence-order logits and classifier logits on the pooled output.
#include "models/albert/albert_verify.h"
#include "models/bert/bert_verify.h"
#include "verify/blocks.h"

namespace tensorferry::verify::albert {

void run(Pass& p) {
  using namespace bert;  // the roles ALBERT's modules share with BERT's, and its encoder
  const ModelConfig& c = p.c;
  ModelWeights& w = p.w;
  bool ok = p.embeddings([&] {
    return apply(w, {kMappingWeight, kMappingBias}, 0,
                 embedding_rows(p, p.flat.positions, c.embedding_size), c.hidden);
  });
  // transformers: int(l / (layers / groups)); Google: int(l / layers * groups): the same group.
  ok = ok && run_encoder_layers(
                 p, [&](int l) { return static_cast<int>(l * c.layer_groups / c.layers); });
  if (!ok) return;

  EncoderHeads heads(p.record, w, c, p.h, p.offsets);
  run_pooler_and_mlm(heads, c, std::nullopt, c.embedding_size);
  heads.pooled("sop logits", {kSopWeight, kSopBias}, 2);
  heads.pooled("classifier logits", {kClassifierWeight, kClassifierBias}, 0);
}

}  // namespace tensorferry::verify::albert
