// LLaMA, Mistral and Qwen2 (transformers LlamaModel / MistralModel / Qwen2Model): pre-RMSNorm
// decoder blocks,
//   x += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))), n = input_layernorm(x)
//   x += down_proj(act(gate_proj(m)) · up_proj(m)),              m = post_attention_layernorm(x)
// grouped-query attention (each key/value head shared by heads/kv_heads query heads), causal and,
// for Mistral, limited to the sliding window; then the final RMSNorm and the logits against
// lm_head, or against embed_tokens when the config ties them.
#include "models/llama/llama_verify.h"
#include "verify/blocks.h"
#include "verify/rotary.h"

namespace tensorferry::verify::llama {
namespace {

// A Linear projection whose bias exists only when the config says so.
Matrix projection(ModelWeights& w, Param weight, Param bias, bool has_bias, int layer,
                  const Matrix& x, int64_t out) {
  return apply(w, {weight, has_bias ? std::optional<Param>(bias) : std::nullopt}, layer, x, out);
}

Matrix attention_block(ModelWeights& w, const ModelConfig& c, int i, const Matrix& h,
                       const RotaryTable& rotary, const std::vector<int64_t>& offsets) {
  Matrix n = h;
  rms_norm(w, kAttnNorm, i, n, c.layer_norm_eps);
  const int64_t q_width = c.heads * c.head_dim;
  const int64_t kv_width = c.kv_heads * c.head_dim;
  Matrix q = projection(w, kQWeight, kQBias, c.qkv_bias, i, n, q_width);
  Matrix k = projection(w, kKWeight, kKBias, c.qkv_bias, i, n, kv_width);
  const Matrix v = projection(w, kVWeight, kVBias, c.qkv_bias, i, n, kv_width);
  apply_rotary(q, rotary, c.head_dim);
  apply_rotary(k, rotary, c.head_dim);
  const Matrix context = grouped_attention(q, k, v, offsets, c.heads, c.kv_heads, c.sliding_window);
  return projection(w, kOWeight, kOBias, c.o_bias, i, context, c.hidden);
}

Matrix mlp_block(ModelWeights& w, const ModelConfig& c, int i, const Matrix& h) {
  Matrix m = h;
  rms_norm(w, kMlpNorm, i, m, c.layer_norm_eps);
  Matrix gate = projection(w, kGateWeight, kGateBias, c.mlp_bias, i, m, c.inner);
  const Matrix up = projection(w, kUpWeight, kUpBias, c.mlp_bias, i, m, c.inner);
  activate(gate, c.activation);
  for (size_t e = 0; e < gate.data.size(); ++e) gate.data[e] *= up.data[e];
  return projection(w, kDownWeight, kDownBias, c.mlp_bias, i, gate, c.hidden);
}

}  // namespace

void run(Pass& p) {
  const ModelConfig& c = p.c;
  ModelWeights& w = p.w;
  Matrix& h = p.h;
  const RotaryTable rotary =
      rotary_table(rotary_inverse_frequencies(c.rope, c.head_dim), p.flat.positions);
  bool ok =
      p.embeddings([&] { return gather_rows(w, kEmbed, c.vocab_size, c.hidden, p.flat.tokens); });
  ok = ok && run_layers(
                 p.record, c.layers, p.offsets, h,
                 [&](int i, Matrix& x) {
                   add_in_place(x, attention_block(w, c, i, x, rotary, p.offsets));
                 },
                 [&](int i, Matrix& x) { add_in_place(x, mlp_block(w, c, i, x)); });
  if (ok)
    ok = p.record.run("final norm", -1, false, p.offsets, [&] {
      rms_norm(w, kNorm, 0, h, c.layer_norm_eps);
      return h;
    });
  // LlamaModel checkpoints of an untied config carry no LM head: no logits to compare then.
  const bool untied = !c.tie_word_embeddings;
  if (ok && (!untied || w.has(kLmHead, -1)))
    p.record.run("logits", -1, true, p.offsets, [&] {
      return project_on_rows(w, untied ? kLmHead : kEmbed, c.vocab_size, c.hidden, h);
    });
}

}  // namespace tensorferry::verify::llama
