// LLaMA, Mistral and Qwen2 (transformers LlamaModel / MistralModel / Qwen2Model): pre-RMSNorm
// decoder blocks,
//   x += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n)))  with n =
//   input_layernorm(x) x += down_proj(act(gate_proj(m)) · up_proj(m))                       with m
//   = post_attention_layernorm(x)
// grouped-query attention (each key/value head shared by heads/kv_heads query heads), causal and,
// for Mistral, limited to the sliding window; then the final RMSNorm and the logits against
// lm_head, or against embed_tokens when the config ties them.
#include "verify/forward.h"
#include "verify/layers.h"
#include "verify/rotary.h"
#include "verify/stage_recorder.h"

namespace tensorferry::verify {
namespace {

// A Linear projection whose bias exists only when the config says so.
Matrix projection(ModelWeights& w, Param weight, Param bias, bool has_bias, int layer,
                  const Matrix& x, int64_t out) {
  return has_bias ? dense_layer(w, weight, bias, layer, x, out)
                  : dense_layer(w, weight, layer, x, out);
}

Matrix attention_block(ModelWeights& w, const ModelConfig& c, int i, const Matrix& h,
                       const RotaryTable& rotary, const std::vector<int64_t>& offsets) {
  using enum Param;
  Matrix n = h;
  rms_norm(w, kLlamaAttnNorm, i, n, c.layer_norm_eps);
  const int64_t q_width = c.heads * c.head_dim;
  const int64_t kv_width = c.kv_heads * c.head_dim;
  Matrix q = projection(w, kLlamaQWeight, kLlamaQBias, c.qkv_bias, i, n, q_width);
  Matrix k = projection(w, kLlamaKWeight, kLlamaKBias, c.qkv_bias, i, n, kv_width);
  const Matrix v = projection(w, kLlamaVWeight, kLlamaVBias, c.qkv_bias, i, n, kv_width);
  apply_rotary(q, rotary, c.head_dim);
  apply_rotary(k, rotary, c.head_dim);
  const Matrix context = grouped_attention(q, k, v, offsets, c.heads, c.kv_heads, c.sliding_window);
  return projection(w, kLlamaOWeight, kLlamaOBias, c.o_bias, i, context, c.hidden);
}

Matrix mlp_block(ModelWeights& w, const ModelConfig& c, int i, const Matrix& h) {
  using enum Param;
  Matrix m = h;
  rms_norm(w, kLlamaMlpNorm, i, m, c.layer_norm_eps);
  Matrix gate = projection(w, kLlamaGateWeight, kLlamaGateBias, c.mlp_bias, i, m, c.inner);
  const Matrix up = projection(w, kLlamaUpWeight, kLlamaUpBias, c.mlp_bias, i, m, c.inner);
  activate(gate, c.activation);
  for (size_t e = 0; e < gate.data.size(); ++e) gate.data[e] *= up.data[e];
  return projection(w, kLlamaDownWeight, kLlamaDownBias, c.mlp_bias, i, gate, c.hidden);
}

}  // namespace

ForwardResult run_llama(Model& model, const std::vector<TokenSequence>& sequences,
                        const StageObserver& observe) {
  using enum Param;
  const ModelConfig& c = model.config;
  ModelWeights& w = *model.weights;
  ForwardResult result;
  StageRecorder record(w, result, observe);
  const auto offsets = sequence_offsets(sequences);

  const FlatTokens flat = flatten(sequences);
  const RotaryTable rotary =
      rotary_table(rotary_inverse_frequencies(c.rope, c.head_dim), flat.positions);

  Matrix h;
  bool ok = record.run("embeddings", -1, false, offsets, [&] {
    h = gather_rows(w, kLlamaEmbed, c.vocab_size, c.hidden, flat.tokens);
    return h;
  });
  for (int i = 0; ok && i < c.layers; ++i) {
    const std::string layer = "layer " + std::to_string(i);
    ok = record.run(layer + " attention", i, false, offsets, [&] {
      add_in_place(h, attention_block(w, c, i, h, rotary, offsets));
      return h;
    });
    if (!ok) break;
    ok = record.run(layer, i, false, offsets, [&] {
      add_in_place(h, mlp_block(w, c, i, h));
      return h;
    });
  }
  if (ok)
    ok = record.run("final norm", -1, false, offsets, [&] {
      rms_norm(w, kLlamaNorm, 0, h, c.layer_norm_eps);
      return h;
    });
  // LlamaModel checkpoints of an untied config carry no LM head: no logits to compare then.
  const bool untied = !c.tie_word_embeddings;
  if (ok && (!untied || w.has(kLlamaLmHead, -1)))
    record.run("logits", -1, true, offsets, [&] {
      return project_on_rows(w, untied ? kLlamaLmHead : kLlamaEmbed, c.vocab_size, c.hidden, h);
    });
  return result;
}

}  // namespace tensorferry::verify
