// BERT (Google modeling.py; HF BertModel / TFBertModel): post-LayerNorm blocks,
//   x = LN(x + attn_out(attention(q(x), k(x), v(x))));  x = LN(x + out(act(intermediate(x))));
// and every head the checkpoint carries: pooler (tanh dense on the first token), masked-LM
// logits (dense, act, LN, then the token table tied, plus a bias), next-sentence logits,
// sequence-classification logits (both on the pooled output), and SQuAD start/end logits.
#include <algorithm>

#include "verify/forward.h"
#include "verify/layers.h"
#include "verify/stage_recorder.h"

namespace tensorferry::verify {

ForwardResult run_bert(Model& model, const std::vector<TokenSequence>& sequences,
                       const StageObserver& observe) {
  using enum Param;
  const ModelConfig& c = model.config;
  ModelWeights& w = *model.weights;
  ForwardResult result;
  StageRecorder record(w, result, observe);
  const auto offsets = sequence_offsets(sequences);
  const auto pooled_offsets = one_row_each(sequences.size());

  const FlatTokens flat = flatten(sequences);

  Matrix h;
  bool ok = record.run("embeddings", -1, false, offsets, [&] {
    h = gather_rows(w, kBertWordEmb, c.vocab_size, c.hidden, flat.tokens);
    add_in_place(h, gather_rows(w, kBertTypeEmb, c.type_vocab_size, c.hidden, flat.types));
    add_in_place(h, gather_rows(w, kBertPosEmb, c.max_positions, c.hidden, flat.positions));
    layer_norm(w, kBertEmbLnScale, kBertEmbLnShift, 0, h, c.layer_norm_eps);
    return h;
  });
  for (int i = 0; ok && i < c.layers; ++i) {
    const std::string layer = "layer " + std::to_string(i);
    ok = record.run(layer + " attention", i, false, offsets, [&] {
      const Matrix q = dense_layer(w, kBertQueryWeight, kBertQueryBias, i, h, c.hidden);
      const Matrix k = dense_layer(w, kBertKeyWeight, kBertKeyBias, i, h, c.hidden);
      const Matrix v = dense_layer(w, kBertValueWeight, kBertValueBias, i, h, c.hidden);
      const Matrix context = attention(q, k, v, offsets, c.heads, /*causal=*/false);
      Matrix out = dense_layer(w, kBertAttnOutWeight, kBertAttnOutBias, i, context, c.hidden);
      add_in_place(out, h);
      layer_norm(w, kBertAttnLnScale, kBertAttnLnShift, i, out, c.layer_norm_eps);
      h = std::move(out);
      return h;
    });
    if (!ok) break;
    ok = record.run(layer, i, false, offsets, [&] {
      Matrix inner = dense_layer(w, kBertInterWeight, kBertInterBias, i, h, c.inner);
      activate(inner, c.activation);
      Matrix out = dense_layer(w, kBertOutWeight, kBertOutBias, i, inner, c.hidden);
      add_in_place(out, h);
      layer_norm(w, kBertOutLnScale, kBertOutLnShift, i, out, c.layer_norm_eps);
      h = std::move(out);
      return h;
    });
  }
  if (!ok) return result;

  // The heads read the encoder output; each is independent of the others except that the
  // next-sentence and classifier heads read the pooler's output.
  Matrix pooled;
  bool have_pooled = false;
  if (w.has(kBertPoolerWeight, 0))
    have_pooled = record.run("pooler", -1, true, pooled_offsets, [&] {
      Matrix first(static_cast<int64_t>(sequences.size()), c.hidden);
      for (size_t s = 0; s < sequences.size(); ++s)
        std::copy_n(h.row(offsets[s]), c.hidden, first.row(static_cast<int64_t>(s)));
      pooled = dense_layer(w, kBertPoolerWeight, kBertPoolerBias, 0, first, c.hidden);
      activate(pooled, Activation::kTanh);
      return pooled;
    });
  if (w.has(kBertMlmDenseWeight, 0) || w.has(kBertMlmBias, 0))
    record.run("mlm logits", -1, true, offsets, [&] {
      Matrix t = dense_layer(w, kBertMlmDenseWeight, kBertMlmDenseBias, 0, h, c.hidden);
      activate(t, c.activation);
      layer_norm(w, kBertMlmLnScale, kBertMlmLnShift, 0, t, c.layer_norm_eps);
      const bool untied =
          !c.tie_word_embeddings && find_param(model.family, model.convention, kBertMlmDecoder);
      Matrix logits =
          project_on_rows(w, untied ? kBertMlmDecoder : kBertWordEmb, c.vocab_size, c.hidden, t);
      add_bias(logits, w.read(kBertMlmBias, 0, {static_cast<uint64_t>(c.vocab_size)}));
      return logits;
    });
  // `labels` 0: as many as the stored classifier has (HF builds it from config.num_labels,
  // Google's run_classifier from its task; neither is in every config file).
  auto pooled_head = [&](const char* name, Param weight, Param bias, int64_t labels) {
    if (!w.has(weight, 0)) return;
    record.run(name, -1, true, pooled_offsets, [&] {
      if (!have_pooled)
        throw WeightProblem(std::string(name) + " read the pooler output, which is missing");
      if (labels == 0) {
        const Shape& shape = w.entry(weight, 0).shape;
        if (shape.size() != 2)
          throw WeightProblem("tensor " + w.entry(weight, 0).name + " has shape " +
                              shape_to_string(shape) + ", not a matrix");
        labels = static_cast<int64_t>(stored_out_by_in(w.spec(weight).use) ? shape[0] : shape[1]);
      }
      return dense_layer(w, weight, bias, 0, pooled, labels);
    });
  };
  pooled_head("nsp logits", kBertNspWeight, kBertNspBias, 2);
  pooled_head("classifier logits", kBertClassifierWeight, kBertClassifierBias, 0);
  if (w.has(kBertQaWeight, 0)) {
    Matrix qa;
    if (record.run("qa start logits", -1, true, offsets, [&] {
          qa = dense_layer(w, kBertQaWeight, kBertQaBias, 0, h, 2);
          return columns(qa, 0, 1);
        }))
      record.run("qa end logits", -1, true, offsets, [&] { return columns(qa, 1, 1); });
  }
  return result;
}

}  // namespace tensorferry::verify
