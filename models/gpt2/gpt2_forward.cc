// GPT-2 (OpenAI model.py; HF GPT2Model / TFGPT2Model): pre-LayerNorm blocks,
//   x += c_proj(attention(c_attn(ln_1(x))));  x += mlp_c_proj(act(c_fc(ln_2(x))));
// then ln_f and logits against the token table (tied) or an untied HF lm_head.
#include "models/gpt2/gpt2_verify.h"
#include "verify/blocks.h"

namespace tensorferry::verify::gpt2 {

void run(Pass& p) {
  const ModelConfig& c = p.c;
  ModelWeights& w = p.w;
  Matrix& h = p.h;
  bool ok = p.embeddings([&] {
    Matrix sum = gather_rows(w, kWte, c.vocab_size, c.hidden, p.flat.tokens);
    add_in_place(sum, gather_rows(w, kWpe, c.max_positions, c.hidden, p.flat.positions));
    return sum;
  });
  auto attention_block = [&](int i, Matrix& x) {
    Matrix a = x;
    layer_norm(w, kLn1Scale, kLn1Shift, i, a, c.layer_norm_eps);
    // c_attn packs [q | k | v] along its output columns, heads contiguous inside each.
    const Matrix qkv = dense_layer(w, kAttnWeight, kAttnBias, i, a, 3 * c.hidden);
    const Matrix context =
        attention(columns(qkv, 0, c.hidden), columns(qkv, c.hidden, c.hidden),
                  columns(qkv, 2 * c.hidden, c.hidden), p.offsets, c.heads, /*causal=*/true);
    add_in_place(x, dense_layer(w, kAttnProjWeight, kAttnProjBias, i, context, c.hidden));
  };
  auto mlp_block = [&](int i, Matrix& x) {
    Matrix m = x;
    layer_norm(w, kLn2Scale, kLn2Shift, i, m, c.layer_norm_eps);
    Matrix inner = dense_layer(w, kFcWeight, kFcBias, i, m, c.inner);
    activate(inner, c.activation);
    add_in_place(x, dense_layer(w, kMlpProjWeight, kMlpProjBias, i, inner, c.hidden));
  };
  ok = ok && run_layers(p.record, c.layers, p.offsets, h, attention_block, mlp_block);
  ok = ok && p.record.run("final layer norm", -1, false, p.offsets, [&] {
    layer_norm(w, kLnfScale, kLnfShift, 0, h, c.layer_norm_eps);
    return h;
  });
  if (ok)
    p.record.run("logits", -1, false, p.offsets, [&] {
      // OpenAI: logits = h·wteᵀ. HF GPT2LMHeadModel: lm_head (a Linear without bias) tied to
      // wte unless the config unties it.
      if (!c.tie_word_embeddings && find_param(w.family(), w.convention(), kLmHead))
        return project_on_rows(w, kLmHead, c.vocab_size, c.hidden, h);
      return project_on_rows(w, kWte, c.vocab_size, c.hidden, h);
    });
}

}  // namespace tensorferry::verify::gpt2
