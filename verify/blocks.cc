#include "verify/blocks.h"

#include <algorithm>

namespace tensorferry::verify {

Matrix apply(ModelWeights& w, const Linear& linear, int layer, const Matrix& x, int64_t out) {
  return linear.bias ? dense_layer(w, linear.weight, *linear.bias, layer, x, out)
                     : dense_layer(w, linear.weight, layer, x, out);
}

bool run_layers(StageRecorder& record, int64_t layers, const std::vector<int64_t>& offsets,
                Matrix& h, const SubLayer& attention, const SubLayer& mlp) {
  for (int i = 0; i < layers; ++i) {
    const std::string layer = "layer " + std::to_string(i);
    if (!record.run(layer + " attention", i, false, offsets, [&] {
          attention(i, h);
          return h;
        }))
      return false;
    if (!record.run(layer, i, false, offsets, [&] {
          mlp(i, h);
          return h;
        }))
      return false;
  }
  return true;
}

Matrix encoder_embeddings(ModelWeights& w, const ModelConfig& c, const EncoderEmbeddings& p,
                          const FlatTokens& flat, const std::vector<int64_t>& positions,
                          int64_t width) {
  Matrix h = gather_rows(w, p.words, c.vocab_size, width, flat.tokens);
  if (p.types) add_in_place(h, gather_rows(w, *p.types, c.type_vocab_size, width, flat.types));
  add_in_place(h, gather_rows(w, p.positions, c.max_positions, width, positions));
  layer_norm(w, p.norm.scale, p.norm.shift, 0, h, c.layer_norm_eps);
  return h;
}

void post_norm_attention(ModelWeights& w, const ModelConfig& c, const SelfAttention& p, int layer,
                         const std::vector<int64_t>& offsets, Matrix& h) {
  const Matrix q = apply(w, p.query, layer, h, c.hidden);
  const Matrix k = apply(w, p.key, layer, h, c.hidden);
  const Matrix v = apply(w, p.value, layer, h, c.hidden);
  const Matrix context = attention(q, k, v, offsets, c.heads, /*causal=*/false);
  Matrix out = apply(w, p.output, layer, context, c.hidden);
  add_in_place(out, h);
  layer_norm(w, p.norm.scale, p.norm.shift, layer, out, c.layer_norm_eps);
  h = std::move(out);
}

void post_norm_mlp(ModelWeights& w, const ModelConfig& c, const FeedForward& p, int layer,
                   Matrix& h) {
  Matrix inner = apply(w, p.up, layer, h, c.inner);
  activate(inner, c.activation);
  Matrix out = apply(w, p.down, layer, inner, c.hidden);
  add_in_place(out, h);
  layer_norm(w, p.norm.scale, p.norm.shift, layer, out, c.layer_norm_eps);
  h = std::move(out);
}

int64_t stored_outputs(ModelWeights& w, Param weight) {
  const TensorEntry& entry = w.entry(weight, 0);
  if (entry.shape.size() != 2)
    throw WeightProblem("tensor " + entry.name + " has shape " + shape_to_string(entry.shape) +
                        ", not a matrix");
  return static_cast<int64_t>(stored_out_by_in(w.spec(weight).use) ? entry.shape[0]
                                                                   : entry.shape[1]);
}

EncoderHeads::EncoderHeads(StageRecorder& record, ModelWeights& w, const ModelConfig& c,
                           const Matrix& h, const std::vector<int64_t>& offsets)
    : record_(record),
      w_(w),
      c_(c),
      h_(h),
      offsets_(offsets),
      pooled_offsets_(one_row_each(offsets.size() - 1)) {}

Matrix EncoderHeads::first_tokens() const {
  const int64_t sequences = static_cast<int64_t>(offsets_.size()) - 1;
  Matrix first(sequences, h_.cols);
  for (int64_t s = 0; s < sequences; ++s)
    std::copy_n(h_.row(offsets_[static_cast<size_t>(s)]), h_.cols, first.row(s));
  return first;
}

void EncoderHeads::pooler(const Linear& dense, Activation act) {
  if (!w_.has(dense.weight, 0)) return;
  have_pooled_ = record_.run("pooler", -1, true, pooled_offsets_, [&] {
    pooled_ = apply(w_, dense, 0, first_tokens(), c_.hidden);
    activate(pooled_, act);
    return pooled_;
  });
}

void EncoderHeads::masked_lm(const MaskedLm& p) {
  if (!w_.has(p.transform.weight, 0) && !w_.has(p.bias, 0)) return;
  record_.run("mlm logits", -1, true, offsets_, [&] {
    Matrix t = apply(w_, p.transform, 0, h_, p.width ? p.width : h_.cols);
    activate(t, p.activation);
    layer_norm(w_, p.norm.scale, p.norm.shift, 0, t, c_.layer_norm_eps);
    const bool untied = !c_.tie_word_embeddings && p.untied_decoder &&
                        find_param(w_.family(), w_.convention(), *p.untied_decoder);
    Matrix logits =
        project_on_rows(w_, untied ? *p.untied_decoder : p.table, c_.vocab_size, t.cols, t);
    add_bias(logits, w_.read(p.bias, 0, {static_cast<uint64_t>(c_.vocab_size)}));
    return logits;
  });
}

void EncoderHeads::pooled(const char* name, const Linear& out, int64_t labels) {
  if (!w_.has(out.weight, 0)) return;
  record_.run(name, -1, true, pooled_offsets_, [&] {
    if (!have_pooled_)
      throw WeightProblem(std::string(name) + " read the pooler output, which is missing");
    return apply(w_, out, 0, pooled_, labels ? labels : stored_outputs(w_, out.weight));
  });
}

void EncoderHeads::first_token(const char* name, const Linear& dense, Activation act,
                               const Linear& out) {
  if (!w_.has(out.weight, 0)) return;
  record_.run(name, -1, true, pooled_offsets_, [&] {
    Matrix x = apply(w_, dense, 0, first_tokens(), c_.hidden);
    activate(x, act);
    return apply(w_, out, 0, x, stored_outputs(w_, out.weight));
  });
}

void EncoderHeads::per_token(const char* name, const Linear& out) {
  if (!w_.has(out.weight, 0)) return;
  record_.run(name, -1, true, offsets_,
              [&] { return apply(w_, out, 0, h_, stored_outputs(w_, out.weight)); });
}

void EncoderHeads::question_answering(const Linear& out) {
  if (!w_.has(out.weight, 0)) return;
  Matrix qa;
  if (record_.run("qa start logits", -1, true, offsets_, [&] {
        qa = apply(w_, out, 0, h_, 2);
        return columns(qa, 0, 1);
      }))
    record_.run("qa end logits", -1, true, offsets_, [&] { return columns(qa, 1, 1); });
}

}  // namespace tensorferry::verify
