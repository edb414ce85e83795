// GPT-2 (OpenAI model.py; HF GPT2Model / TFGPT2Model): pre-LayerNorm blocks,
//   x += c_proj(attention(c_attn(ln_1(x))));  x += mlp_c_proj(act(c_fc(ln_2(x))));
// then ln_f and logits against the token table (tied) or an untied HF lm_head.
#include "verify/forward.h"
#include "verify/layers.h"
#include "verify/stage_recorder.h"

namespace tensorferry::verify {

ForwardResult run_gpt2(Model& model, const std::vector<TokenSequence>& sequences,
                       const StageObserver& observe) {
  using enum Param;
  const ModelConfig& c = model.config;
  ModelWeights& w = *model.weights;
  ForwardResult result;
  StageRecorder record(w, result, observe);
  const auto offsets = sequence_offsets(sequences);

  const FlatTokens flat = flatten(sequences);

  Matrix h;
  bool ok = record.run("embeddings", -1, false, offsets, [&] {
    h = gather_rows(w, kGpt2Wte, c.vocab_size, c.hidden, flat.tokens);
    add_in_place(h, gather_rows(w, kGpt2Wpe, c.max_positions, c.hidden, flat.positions));
    return h;
  });
  for (int i = 0; ok && i < c.layers; ++i) {
    const std::string layer = "layer " + std::to_string(i);
    ok = record.run(layer + " attention", i, false, offsets, [&] {
      Matrix a = h;
      layer_norm(w, kGpt2Ln1Scale, kGpt2Ln1Shift, i, a, c.layer_norm_eps);
      // c_attn packs [q | k | v] along its output columns, heads contiguous inside each.
      const Matrix qkv = dense_layer(w, kGpt2AttnWeight, kGpt2AttnBias, i, a, 3 * c.hidden);
      const Matrix context =
          attention(columns(qkv, 0, c.hidden), columns(qkv, c.hidden, c.hidden),
                    columns(qkv, 2 * c.hidden, c.hidden), offsets, c.heads, /*causal=*/true);
      add_in_place(h, dense_layer(w, kGpt2AttnProjWeight, kGpt2AttnProjBias, i, context, c.hidden));
      return h;
    });
    if (!ok) break;
    ok = record.run(layer, i, false, offsets, [&] {
      Matrix m = h;
      layer_norm(w, kGpt2Ln2Scale, kGpt2Ln2Shift, i, m, c.layer_norm_eps);
      Matrix inner = dense_layer(w, kGpt2FcWeight, kGpt2FcBias, i, m, c.inner);
      activate(inner, c.activation);
      add_in_place(h, dense_layer(w, kGpt2MlpProjWeight, kGpt2MlpProjBias, i, inner, c.hidden));
      return h;
    });
  }
  if (ok)
    ok = record.run("final layer norm", -1, false, offsets, [&] {
      layer_norm(w, kGpt2LnfScale, kGpt2LnfShift, 0, h, c.layer_norm_eps);
      return h;
    });
  if (ok)
    record.run("logits", -1, false, offsets, [&] {
      // OpenAI: logits = h·wteᵀ. HF GPT2LMHeadModel: lm_head (a Linear without bias) tied to
      // wte unless the config unties it.
      if (!c.tie_word_embeddings && find_param(model.family, model.convention, kGpt2LmHead))
        return project_on_rows(w, kGpt2LmHead, c.vocab_size, c.hidden, h);
      return project_on_rows(w, kGpt2Wte, c.vocab_size, c.hidden, h);
    });
  return result;
}

}  // namespace tensorferry::verify
