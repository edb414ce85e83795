// Unit tests of the reference forward passes and the stage comparison on synthetic checkpoints.
// Agreement with the real frameworks is tested in tests/python (test_verify_*.py).
#include "verify/verify.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "tests/cpp/verify_fixtures.h"
#include "verify/kernels.h"

namespace tensorferry::verify {
namespace {

using namespace testing;

const StageReport& stage(const VerifyReport& r, const std::string& name) {
  for (const auto& s : r.stages)
    if (s.name == name) return s;
  throw std::runtime_error("no stage " + name);
}

std::string first_failure(const VerifyReport& r) {
  return r.first_failure ? r.stages[*r.first_failure].name : "(none)";
}

VerifyReport run(std::vector<FakeTensor> a, Convention ca, std::vector<FakeTensor> b, Convention cb,
                 const ModelConfig& config_a, const ModelConfig& config_b,
                 VerifyOptions options = {}) {
  Model ma = make_model(std::move(a), *config_a.family, ca, config_a);
  Model mb = make_model(std::move(b), *config_b.family, cb, config_b);
  return verify_models(ma, mb, options);
}

double largest_error(const VerifyReport& r) {
  double m = 0;
  for (const auto& s : r.stages) m = std::max(m, s.max_abs_error);
  return m;
}

// --- building blocks -------------------------------------------------------------------------

TEST(VerifyNumeric, HalfConversions) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0xc000), -2.0f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(half_to_float(0x7c00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  EXPECT_EQ(bfloat16_to_float(0x3f80), 1.0f);
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float f = half_to_float(static_cast<uint16_t>(bits));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_half(f), bits) << bits;
  }
  EXPECT_EQ(float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie: to even
  EXPECT_EQ(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(float_to_half(1e6f), 0x7c00);
}

TEST(VerifyKernels, Activations) {
  EXPECT_NEAR(activate(1.0, Activation::kGeluErf), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(activate(1.0, Activation::kGeluTanh), 0.8411919906082768, 1e-15);
  // The two GELUs differ most near x = -2.7 by about 4.7e-4 (why the choice matters at 1e-5).
  EXPECT_NEAR(
      std::fabs(activate(-2.7, Activation::kGeluErf) - activate(-2.7, Activation::kGeluTanh)),
      4.7e-4, 0.2e-4);
  EXPECT_EQ(activate(-3.0, Activation::kRelu), 0.0);
  EXPECT_NEAR(activate(2.0, Activation::kSilu), 2.0 / (1.0 + std::exp(-2.0)), 1e-15);
}

TEST(VerifyKernels, LayerNormAndAttention) {
  Matrix x(1, 4);
  x.data = {1, 2, 3, 4};
  layer_norm(x, {1, 1, 1, 1}, {0, 0, 0, 0}, 0.0);
  const double s = std::sqrt(1.25);
  EXPECT_NEAR(x.data[0], -1.5 / s, 1e-15);
  EXPECT_NEAR(x.data[3], 1.5 / s, 1e-15);

  // Causal attention: the first position sees only itself, so its output is its own value.
  Matrix q(3, 4), k(3, 4), v(3, 4);
  for (int i = 0; i < 12; ++i) {
    q.data[i] = 0.1 * i;
    k.data[i] = 0.05 * (12 - i);
    v.data[i] = i;
  }
  const Matrix causal = attention(q, k, v, {0, 3}, 2, true);
  for (int c = 0; c < 4; ++c) EXPECT_DOUBLE_EQ(causal.row(0)[c], v.row(0)[c]);
  // Non-causal with equal scores everywhere averages the values.
  Matrix zeros(3, 4);
  const Matrix mean = attention(zeros, zeros, v, {0, 3}, 2, false);
  for (int c = 0; c < 4; ++c)
    EXPECT_NEAR(mean.row(2)[c], (v.row(0)[c] + v.row(1)[c] + v.row(2)[c]) / 3, 1e-12);
  // Two sequences never attend to each other.
  const Matrix split = attention(zeros, zeros, v, {0, 1, 3}, 2, false);
  for (int c = 0; c < 4; ++c) EXPECT_DOUBLE_EQ(split.row(0)[c], v.row(0)[c]);
}

TEST(VerifyConvention, NormalizesEachConventionsNames) {
  using C = Convention;
  EXPECT_EQ(*normalize_name(gpt2_verify_family(), C::kHfPytorch, "transformer.h.0.ln_1.weight"),
            "h.0.ln_1.weight");
  EXPECT_EQ(*normalize_name(bert_verify_family(), C::kHfPytorch, "bert.embeddings.LayerNorm.gamma"),
            "embeddings.LayerNorm.weight");
  EXPECT_FALSE(
      normalize_name(bert_verify_family(), C::kHfPytorch, "bert/embeddings/word_embeddings"));
  EXPECT_EQ(*normalize_name(gpt2_verify_family(), C::kHfTf2,
                            "transformer/tfgpt2lm_head_model/transformer/h_._3/attn/c_attn/bias:0"),
            "transformer/h_._3/attn/c_attn/bias");
  EXPECT_EQ(
      *normalize_name(bert_verify_family(), C::kHfTf2, "tf_bert_model/bert/pooler/dense/kernel:0"),
      "bert/pooler/dense/kernel");
  EXPECT_EQ(*normalize_name(bert_verify_family(), C::kHfTf2,
                            "bert/encoder/layer_._1/output/dense/bias:0"),
            "bert/encoder/layer_._1/output/dense/bias");
  EXPECT_EQ(*normalize_name(gpt2_verify_family(), C::kOpenAiTf1, "model/h7/mlp/c_fc/w"),
            "model/h7/mlp/c_fc/w");

  auto m = match_param(gpt2_verify_family(), C::kOpenAiTf1, "model/h12/attn/c_proj/w");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->param, Param(gpt2::kAttnProjWeight));
  EXPECT_EQ(m->layer, 12);
  EXPECT_EQ(canonical_name(gpt2_verify_family(), m->param, m->layer), "h.12.attn.c_proj.weight");
  EXPECT_FALSE(match_param(gpt2_verify_family(), C::kOpenAiTf1, "model/hx/attn/c_proj/w"));
  EXPECT_FALSE(match_param(gpt2_verify_family(), C::kOpenAiTf1, "model/h01/attn/c_proj/w"));
  auto bias = match_param(bert_verify_family(), C::kHfPytorch, "cls.predictions.decoder.bias");
  ASSERT_TRUE(bias);
  EXPECT_EQ(bias->param, Param(bert::kMlmBias));
  EXPECT_TRUE(is_known_extra(bert_verify_family(), C::kGoogleTf1,
                             "bert/encoder/layer_0/output/dense/kernel/adam_m"));
  EXPECT_TRUE(is_known_extra(gpt2_verify_family(), C::kHfPytorch, "h.3.attn.masked_bias"));
}

TEST(VerifyConvention, EveryConventionHasTheFullTable) {
  for (const Family* f : {&gpt2_verify_family(), &bert_verify_family()})
    for (Convention c : f->conventions())
      for (const auto& spec : f->params(Convention::kHfPytorch)) {
        if (spec.param == Param(gpt2::kLmHead) || spec.param == Param(bert::kMlmDecoder)) continue;
        EXPECT_NE(find_param(*f, c, spec.param), nullptr)
            << f->name << " " << convention_name(c) << " lacks " << spec.stored;
      }
}

TEST(VerifyDetect, FindsConventionFromNames) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 1);
  auto entries = [](const std::vector<FakeTensor>& t) { return FakeReader(t).tensors(); };
  EXPECT_EQ(detect_convention(entries(to_hf_pytorch(w, gpt2_verify_family())), "x", std::nullopt),
            std::pair(&gpt2_verify_family(), Convention::kHfPytorch));
  EXPECT_EQ(detect_convention(entries(to_openai(w)), "x", std::nullopt),
            std::pair(&gpt2_verify_family(), Convention::kOpenAiTf1));
  EXPECT_EQ(detect_convention(entries(to_gpt2_tf2(w)), "x", std::nullopt),
            std::pair(&gpt2_verify_family(), Convention::kHfTf2));
  const ModelConfig bc = tiny_bert_config();
  const Weights bw = random_bert(bc, 2);
  EXPECT_EQ(detect_convention(entries(to_google(bw)), "x", std::nullopt),
            std::pair(&bert_verify_family(), Convention::kGoogleTf1));
  EXPECT_EQ(detect_convention(entries(to_bert_tf2(bw)), "x", std::nullopt),
            std::pair(&bert_verify_family(), Convention::kHfTf2));
  EXPECT_EQ(detect_convention(entries(to_hf_pytorch(bw, bert_verify_family())), "x", std::nullopt),
            std::pair(&bert_verify_family(), Convention::kHfPytorch));
  try {
    detect_convention(entries(to_google(bw)), "x", Convention::kHfPytorch);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
}

TEST(VerifySequences, FixedSequencesFitBothConfigs) {
  ModelConfig a = tiny_bert_config(), b = tiny_bert_config();
  b.vocab_size = 30;
  b.max_positions = 10;
  const auto seqs = default_sequences(a, b);
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(seqs[0].tokens.size(), 7u);
  EXPECT_EQ(seqs[2].tokens.size(), 10u);
  bool has_last = false;
  for (const auto& s : seqs) {
    for (auto t : s.tokens) EXPECT_LT(t, 30);
    for (auto t : s.tokens) has_last |= t == 29;
    EXPECT_EQ(s.token_types.back(), 1);
    EXPECT_EQ(s.token_types.front(), 0);
  }
  EXPECT_TRUE(has_last);
  EXPECT_EQ(default_sequences(a, b)[2].tokens, seqs[2].tokens);  // deterministic
}

// --- the same weights in every convention agree ------------------------------------------------

TEST(VerifyForward, Gpt2ConventionsAgree) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 7);
  auto pt = [&] { return to_hf_pytorch(w, gpt2_verify_family()); };
  for (auto [tensors, convention] : {std::pair{to_openai(w), Convention::kOpenAiTf1},
                                     {to_gpt2_tf2(w), Convention::kHfTf2},
                                     {pt(), Convention::kHfPytorch}}) {
    VerifyOptions forward;
    forward.always_forward = true;
    const VerifyReport r = run(pt(), Convention::kHfPytorch, tensors, convention, c, c, forward);
    EXPECT_TRUE(r.passed) << convention_name(convention) << ": " << first_failure(r);
    EXPECT_FALSE(r.identical);
    EXPECT_LT(largest_error(r), 1e-12);
    EXPECT_EQ(r.stages.size(), 1u + 2u * c.layers + 2u);  // embeddings, layers, ln_f, logits
    EXPECT_TRUE(r.a.unused_weights.empty());
    EXPECT_TRUE(r.b.unused_weights.empty());
    EXPECT_GT(stage(r, "logits").max_abs_value, 0.1);
    EXPECT_EQ(stage(r, "logits").cols, c.vocab_size);
  }
}

TEST(VerifyForward, BertConventionsAgreeOnEveryHead) {
  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 11);
  auto pt = [&] { return to_hf_pytorch(w, bert_verify_family()); };
  for (auto [tensors, convention] :
       {std::pair{to_google(w), Convention::kGoogleTf1}, {to_bert_tf2(w), Convention::kHfTf2}}) {
    VerifyOptions forward;
    forward.always_forward = true;
    const VerifyReport r = run(pt(), Convention::kHfPytorch, tensors, convention, c, c, forward);
    EXPECT_TRUE(r.passed) << convention_name(convention) << ": " << first_failure(r);
    EXPECT_LT(largest_error(r), 1e-12);
    for (const char* head : {"pooler", "mlm logits", "nsp logits", "classifier logits",
                             "qa start logits", "qa end logits"})
      EXPECT_EQ(stage(r, head).status, StageStatus::kOk) << head;
    EXPECT_EQ(stage(r, "classifier logits").cols, 3);
    EXPECT_EQ(stage(r, "classifier logits").rows, 3);  // one per sequence
    EXPECT_EQ(stage(r, "mlm logits").cols, c.vocab_size);
    EXPECT_TRUE(r.b.unused_weights.empty()) << r.b.unused_weights.front();
  }
}

// Equal configs and bit-identical canonical weights decide without the forward pass, across
// conventions that store the matrices transposed (Google TF1 kernels [in, out] against PyTorch
// [out, in]) or reshaped (OpenAI [1, in, out]); anything else runs it.
TEST(VerifyIdentical, DecidesWithoutTheForwardPassOnlyWhenNothingDiffers) {
  const ModelConfig g = tiny_gpt2_config();
  const Weights gw = random_gpt2(g, 7);
  const VerifyReport openai = run(to_hf_pytorch(gw, gpt2_verify_family()), Convention::kHfPytorch,
                                  to_openai(gw), Convention::kOpenAiTf1, g, g);
  ASSERT_TRUE(openai.identical);
  EXPECT_TRUE(openai.passed);
  EXPECT_TRUE(openai.stages.empty());
  EXPECT_EQ(openai.identical->transposed, 0u);
  EXPECT_GT(openai.identical->tensors, 4u * static_cast<uint64_t>(g.layers));
  // An HF lm_head that OpenAI's convention does not store: inert when it is the token table
  // again (a tied copy), not when it differs.
  auto with_head = to_hf_pytorch(gw, gpt2_verify_family());
  const FakeTensor* wte = find(with_head, "transformer.wte.weight");
  ASSERT_NE(wte, nullptr);
  with_head.push_back(FakeTensor{"lm_head.weight", wte->shape, wte->values});
  EXPECT_TRUE(run(with_head, Convention::kHfPytorch, to_openai(gw), Convention::kOpenAiTf1, g, g)
                  .identical);
  with_head.back().values[3] += 1;
  EXPECT_FALSE(run(with_head, Convention::kHfPytorch, to_openai(gw), Convention::kOpenAiTf1, g, g)
                   .identical);
  // The same elements in a shape OpenAI's code would not apply ([in, out] without the leading
  // 1): the forward pass runs and refuses it.
  auto flat = to_openai(gw);
  FakeTensor* fc = find(flat, "model/h0/mlp/c_fc/w");
  fc->shape = Shape(fc->shape.begin() + 1, fc->shape.end());
  const VerifyReport reshaped = run(to_hf_pytorch(gw, gpt2_verify_family()), Convention::kHfPytorch,
                                    flat, Convention::kOpenAiTf1, g, g);
  EXPECT_FALSE(reshaped.identical);
  EXPECT_EQ(first_failure(reshaped), "layer 0");

  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 11);
  const VerifyReport google = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch,
                                  to_google(w), Convention::kGoogleTf1, c, c);
  ASSERT_TRUE(google.identical);
  EXPECT_TRUE(google.passed);
  EXPECT_GT(google.identical->transposed, 6u * static_cast<uint64_t>(c.layers));

  // One value one ulp off: the forward pass runs (and, that small, passes).
  auto nudged = to_google(w);
  float& v = find(nudged, "bert/encoder/layer_1/attention/self/query/kernel")->values[5];
  v = std::nextafter(v, 1.0f);
  const VerifyReport off = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch,
                               nudged, Convention::kGoogleTf1, c, c);
  EXPECT_FALSE(off.identical);
  EXPECT_FALSE(off.stages.empty());
  EXPECT_TRUE(off.passed) << first_failure(off);

  // A config that differs in a number the forward pass reads, or only in its file: the first
  // runs the forward pass, the second does not.
  ModelConfig eps = c, elsewhere = c;
  eps.layer_norm_eps *= 2;
  elsewhere.file = "another/config.json";
  EXPECT_FALSE(run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch,
                   to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, c, eps)
                   .identical);
  EXPECT_TRUE(run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch,
                  to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, c, elsewhere)
                  .identical);

  // A tensor one side lacks, and a cast: the forward pass.
  auto lacking = to_hf_pytorch(w, bert_verify_family());
  lacking.erase(std::remove_if(lacking.begin(), lacking.end(),
                               [](const FakeTensor& t) {
                                 return t.name.find("pooler.dense.bias") != std::string::npos;
                               }),
                lacking.end());
  EXPECT_FALSE(run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, lacking,
                   Convention::kHfPytorch, c, c)
                   .identical);
  auto cast = to_hf_pytorch(w, bert_verify_family());
  cast.front().dtype = DType::kF16;
  EXPECT_FALSE(run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, cast,
                   Convention::kHfPytorch, c, c)
                   .identical);
}

TEST(VerifyForward, UserSequencesAreChecked) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 3);
  VerifyOptions options;
  options.fixed_sequences = false;
  options.sequences = {{{1, 2, 3}, {}}};
  options.always_forward = true;
  const VerifyReport r = run(to_openai(w), Convention::kOpenAiTf1, to_openai(w),
                             Convention::kOpenAiTf1, c, c, options);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(stage(r, "logits").rows, 3);
  options.sequences = {{{1, 2, 61}, {}}};  // 61 is outside the vocabulary
  try {
    options.always_forward = false;  // refused even where no forward pass has to run
    run(to_openai(w), Convention::kOpenAiTf1, to_openai(w), Convention::kOpenAiTf1, c, c, options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
  }
}

// --- broken conversions are caught at the right stage ------------------------------------------

TEST(VerifyBroken, MissingTransposeOfSquareQueryKernel) {
  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 5);
  auto b = to_google(w);
  // A converter that forgot the transpose writes the PyTorch [out, in] weight as the kernel.
  *find(b, "bert/encoder/layer_1/attention/self/query/kernel") =
      FakeTensor{"bert/encoder/layer_1/attention/self/query/kernel",
                 {16, 16},
                 w.at("encoder.layer.1.attention.self.query.weight").values};
  const VerifyReport r = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, b,
                             Convention::kGoogleTf1, c, c);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(first_failure(r), "layer 1 attention");
  EXPECT_EQ(stage(r, "layer 1 attention").status, StageStatus::kExceeds);
  EXPECT_LT(stage(r, "layer 0").max_abs_error, 1e-12);
  EXPECT_GT(stage(r, "layer 1 attention").max_abs_error, 1e-3);
  EXPECT_EQ(stage(r, "layer 1 attention").layer, 1);
}

TEST(VerifyBroken, MissingTransposeOfAttentionOutputInGpt2) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 8);
  auto b = to_hf_pytorch(w, gpt2_verify_family());
  auto* t = find(b, "transformer.h.2.attn.c_proj.weight");
  *t = transposed(*t);  // square: no shape check can see it
  const VerifyReport r = run(to_openai(w), Convention::kOpenAiTf1, b, Convention::kHfPytorch, c, c);
  EXPECT_EQ(first_failure(r), "layer 2 attention");
}

TEST(VerifyBroken, SwappedQueryAndKey) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 9);
  auto b = to_openai(w);
  // Swap the q and k column blocks of c_attn (weight and bias) in layer 2.
  for (const char* name : {"model/h2/attn/c_attn/w", "model/h2/attn/c_attn/b"}) {
    FakeTensor* t = find(b, name);
    const uint64_t cols = t->shape.back(), E = cols / 3, rows = t->values.size() / cols;
    for (uint64_t r = 0; r < rows; ++r)
      for (uint64_t j = 0; j < E; ++j)
        std::swap(t->values[r * cols + j], t->values[r * cols + E + j]);
  }
  const VerifyReport r = run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch, b,
                             Convention::kOpenAiTf1, c, c);
  EXPECT_EQ(first_failure(r), "layer 2 attention");

  const ModelConfig bc = tiny_bert_config();
  const Weights bw = random_bert(bc, 10);
  auto bb = to_bert_tf2(bw);
  for (const char* part : {"kernel", "bias"}) {
    const std::string q =
        std::string("bert/tf_bert_for_pre_training/bert/encoder/layer_._0/attention/self/query/") +
        part + ":0";
    const std::string k =
        std::string("bert/tf_bert_for_pre_training/bert/encoder/layer_._0/attention/self/key/") +
        part + ":0";
    std::swap(find(bb, q)->values, find(bb, k)->values);
  }
  const VerifyReport rb = run(to_hf_pytorch(bw, bert_verify_family()), Convention::kHfPytorch, bb,
                              Convention::kHfTf2, bc, bc);
  EXPECT_EQ(first_failure(rb), "layer 0 attention");
}

TEST(VerifyBroken, WrongLayerNormEpsilonInConfig) {
  const ModelConfig c = tiny_bert_config();
  ModelConfig wrong = c;
  wrong.layer_norm_eps = 1e-5;
  wrong.file = "written/config.json";
  // Small embeddings (like trained ones relative to epsilon) make the epsilon matter.
  const Weights w = random_bert(c, 12, 3, 0.02f);
  const VerifyReport r =
      run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch,
          to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, c, wrong);
  EXPECT_EQ(first_failure(r), "embeddings");
  bool noted = false;
  for (const auto& n : r.notes) noted |= n.find("LayerNorm epsilon") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(VerifyBroken, WeightsTakenFromAnotherLayer) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 13);
  Weights copied = w;
  for (const auto& [name, t] : w)
    if (name.starts_with("h.2."))
      copied["h.3." + name.substr(4)] = FakeTensor{"", t.shape, t.values};
  const VerifyReport r = run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch,
                             to_gpt2_tf2(copied), Convention::kHfTf2, c, c);
  EXPECT_EQ(first_failure(r), "layer 3 attention");
  EXPECT_LT(stage(r, "layer 2").max_abs_error, 1e-12);
}

TEST(VerifyBroken, HalfPrecisionRoundTripOfOneTensor) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 14, 1.0f);
  auto b = to_hf_pytorch(w, gpt2_verify_family());
  find(b, "transformer.h.1.mlp.c_fc.weight")->dtype = DType::kF16;  // stored as f16
  const VerifyReport r = run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch, b,
                             Convention::kHfPytorch, c, c);
  EXPECT_EQ(first_failure(r), "layer 1");
  EXPECT_LT(stage(r, "layer 1 attention").max_abs_error, 1e-12);
  const double err = stage(r, "layer 1").max_abs_error;
  EXPECT_GT(err, 1e-5);
  EXPECT_LT(err, 1e-1);
  // Within a looser bound the same file passes.
  VerifyOptions loose;
  loose.max_error = 10;
  EXPECT_TRUE(run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch, b,
                  Convention::kHfPytorch, c, c, loose)
                  .passed);
}

TEST(VerifyBroken, MissingAndMisshapenTensorsStopAtTheirStage) {
  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 15);
  auto b = to_bert_tf2(w);
  std::erase_if(b, [](const FakeTensor& t) {
    return t.name.find("layer_._2/output/LayerNorm/beta") != std::string::npos;
  });
  VerifyReport r = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, b,
                       Convention::kHfTf2, c, c);
  EXPECT_EQ(first_failure(r), "layer 2");
  EXPECT_EQ(stage(r, "layer 2").status, StageStatus::kProblem);
  EXPECT_NE(
      stage(r, "layer 2").note.find("missing tensor bert/encoder/layer_._2/output/LayerNorm/beta"),
      std::string::npos);
  EXPECT_EQ(stage(r, "pooler").status, StageStatus::kNotReached);

  // A non-square kernel written untransposed fails on its shape, naming both.
  auto g = to_google(w);
  auto* k = find(g, "bert/encoder/layer_0/intermediate/dense/kernel");
  *k = transposed(*k);
  r = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, g, Convention::kGoogleTf1,
          c, c);
  EXPECT_EQ(first_failure(r), "layer 0");
  EXPECT_NE(stage(r, "layer 0").note.find("[24, 16]"), std::string::npos)
      << stage(r, "layer 0").note;
  EXPECT_NE(stage(r, "layer 0").note.find("[16, 24]"), std::string::npos);
}

TEST(VerifyBroken, HeadsMustBeOnBothSides) {
  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 16);
  Weights no_classifier = w;
  no_classifier.erase("classifier.weight");
  no_classifier.erase("classifier.bias");
  VerifyReport r = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch,
                       to_google(no_classifier), Convention::kGoogleTf1, c, c);
  EXPECT_EQ(first_failure(r), "classifier logits");
  EXPECT_EQ(stage(r, "classifier logits").status, StageStatus::kMissing);
  VerifyOptions allow;
  allow.allow_missing_heads = true;
  r = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, to_google(no_classifier),
          Convention::kGoogleTf1, c, c, allow);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(stage(r, "classifier logits").status, StageStatus::kSkipped);
}

TEST(VerifyBroken, DisagreeingDuplicateOfATiedWeight) {
  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 17);
  auto b = to_bert_tf2(w);
  find(b, "mlm___cls/tf_bert_for_pre_training/bert/embeddings/word_embeddings/weight:0")
      ->values[5] += 1;
  const VerifyReport r = run(to_hf_pytorch(w, bert_verify_family()), Convention::kHfPytorch, b,
                             Convention::kHfTf2, c, c);
  EXPECT_EQ(first_failure(r), "embeddings");
  EXPECT_NE(stage(r, "embeddings").note.find("different contents"), std::string::npos);
}

// --- NaN and infinity (issue 13 item 11) -------------------------------------------------------

Stage stage_of(std::vector<double> values, int64_t cols) {
  Stage s;
  s.name = "layer 0";
  s.values.rows = static_cast<int64_t>(values.size()) / cols;
  s.values.cols = cols;
  s.values.data = std::move(values);
  s.offsets = {0, s.values.rows};
  return s;
}

TEST(VerifyNonFinite, NanOnBothSidesIsNotAgreement) {
  const double nan = std::nan("");
  const StageReport r = compare_stages(stage_of({nan, nan, nan, nan}, 2),
                                       stage_of({nan, nan, nan, nan}, 2), VerifyOptions{});
  EXPECT_EQ(r.status, StageStatus::kNotFinite);
  EXPECT_TRUE(is_failure(r.status));
  EXPECT_EQ(r.non_finite_a, 4u);
  EXPECT_EQ(r.non_finite_b, 4u);
}

TEST(VerifyNonFinite, InfinityOnOneOrBothSidesFails) {
  const double inf = std::numeric_limits<double>::infinity();
  StageReport r =
      compare_stages(stage_of({1, 2, 3, inf}, 2), stage_of({1, 2, 3, inf}, 2), VerifyOptions{});
  EXPECT_EQ(r.status, StageStatus::kNotFinite);
  EXPECT_EQ(r.token, 1);  // where the first one is
  EXPECT_EQ(r.column, 1);
  r = compare_stages(stage_of({1, 2, 3, 4}, 2), stage_of({1, -inf, 3, 4}, 2), VerifyOptions{});
  EXPECT_EQ(r.status, StageStatus::kNotFinite);
  EXPECT_EQ(r.non_finite_a, 0u);
  EXPECT_EQ(r.non_finite_b, 1u);
  EXPECT_EQ(r.column, 1);
  EXPECT_EQ(r.max_abs_value, 4);  // the finite values still give the scale
}

TEST(VerifyNonFinite, NanSourceWeightsAreReportedBeforeAnyPass) {
  // One NaN column in wpe: every later value would be NaN on both sides.
  const ModelConfig c = tiny_gpt2_config();
  Weights w = random_gpt2(c, 18);
  auto& wpe = w.at("wpe.weight");
  const uint64_t width = wpe.shape[1];
  for (uint64_t row = 0; row < wpe.shape[0]; ++row) wpe.values[row * width + 5] = std::nanf("");
  const VerifyReport r = run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch,
                             to_openai(w), Convention::kOpenAiTf1, c, c);
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.stages.size(), 1u);  // nothing was computed
  EXPECT_EQ(first_failure(r), "weights");
  EXPECT_EQ(r.stages[0].status, StageStatus::kNotFinite);
  EXPECT_EQ(r.stages[0].non_finite_a, wpe.shape[0]);
  EXPECT_EQ(r.stages[0].tensors_a, std::vector<std::string>{"transformer.wpe.weight"});
  EXPECT_NE(r.stages[0].note.find("A: transformer.wpe.weight holds " +
                                  std::to_string(wpe.shape[0]) + " NaN, the first at [0, 5]"),
            std::string::npos)
      << r.stages[0].note;
}

TEST(VerifyNonFinite, InfinityFromAHalfCastNamesTheConvertedTensor) {
  const ModelConfig c = tiny_gpt2_config();
  Weights w = random_gpt2(c, 18);
  w.at("h.1.mlp.c_fc.weight").values[7] = 1e5f;  // beyond f16's 65504
  auto b = to_openai(w);
  find(b, "model/h1/mlp/c_fc/w")->dtype = DType::kF16;  // stored as f16: +inf
  const VerifyReport r = run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch, b,
                             Convention::kOpenAiTf1, c, c);
  EXPECT_EQ(first_failure(r), "weights");
  EXPECT_EQ(r.stages[0].non_finite_b, 1u);
  EXPECT_EQ(r.stages[0].tensors_b, std::vector<std::string>{"model/h1/mlp/c_fc/w"});
  EXPECT_NE(r.stages[0].note.find("B: model/h1/mlp/c_fc/w holds 1 inf, the first at [0, 0, 7]"),
            std::string::npos)
      << r.stages[0].note;
}

TEST(VerifyNonFinite, NonFiniteTrainingStateIsNotAWeight) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 18);
  auto b = to_openai(w);
  b.push_back(FakeTensor{
      "model/wte/Adam", {2}, {std::nanf(""), 1}, DType::kF32, TensorRole::kOptimizerSlot});
  const VerifyReport r = run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch, b,
                             Convention::kOpenAiTf1, c, c);
  EXPECT_TRUE(r.passed) << first_failure(r);
}

// --- the bound: absolute plus relative to the stage's magnitude (issue 12 item 1) -------------

TEST(VerifyBound, RelativePartScalesWithTheStage) {
  // Values up to 100, errors up to 0.05: far above 1e-5, but 5e-4 of the stage's magnitude.
  const Stage a = stage_of({100, -20, 3, 0.5}, 2);
  const Stage b = stage_of({100.05, -20.01, 3, 0.5}, 2);
  VerifyOptions options;
  StageReport r = compare_stages(a, b, options);
  EXPECT_EQ(r.status, StageStatus::kExceeds);
  EXPECT_DOUBLE_EQ(r.bound, 1e-5);
  options.max_rel_error = 1e-3;
  r = compare_stages(a, b, options);
  EXPECT_EQ(r.status, StageStatus::kOk);
  EXPECT_DOUBLE_EQ(r.bound, 1e-5 + 1e-3 * 100);
  options.max_rel_error = 4e-4;
  EXPECT_EQ(compare_stages(a, b, options).status, StageStatus::kExceeds);
}

TEST(VerifyBound, CastsEarnTheirTargetsRounding) {
  EXPECT_EQ(unit_roundoff(DType::kBF16), std::ldexp(1.0, -8));
  EXPECT_EQ(unit_roundoff(DType::kF16), std::ldexp(1.0, -11));
  EXPECT_EQ(cast_max_rel_error(DType::kF32, DType::kBF16), kCastErrorGrowth * std::ldexp(1.0, -8));
  EXPECT_EQ(cast_max_rel_error(DType::kF32, DType::kF16), kCastErrorGrowth * std::ldexp(1.0, -11));
  EXPECT_EQ(cast_max_rel_error(DType::kF16, DType::kBF16), kCastErrorGrowth * std::ldexp(1.0, -8));
  EXPECT_EQ(cast_max_rel_error(DType::kF64, DType::kF32), kCastErrorGrowth * std::ldexp(1.0, -24));
  // Widening casts and no cast lose nothing.
  EXPECT_EQ(cast_max_rel_error(DType::kF16, DType::kF32), 0.0);
  EXPECT_EQ(cast_max_rel_error(DType::kBF16, DType::kF32), 0.0);
  EXPECT_EQ(cast_max_rel_error(DType::kF32, DType::kF32), 0.0);
  EXPECT_EQ(cast_max_rel_error(DType::kBF16, DType::kF16), 0.0);
}

TEST(VerifyBound, InvalidBoundsAreUsageErrors) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 18);
  for (double bad : {-1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    VerifyOptions options;
    options.max_rel_error = bad;
    try {
      run(to_openai(w), Convention::kOpenAiTf1, to_openai(w), Convention::kOpenAiTf1, c, c,
          options);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    }
  }
}

TEST(VerifyBroken, UnusedWeightsAreReported) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 19);
  auto b = to_hf_pytorch(w, gpt2_verify_family());
  b.push_back(FakeTensor{"transformer.h.4.ln_1.weight", {16}, std::vector<float>(16, 1.0f)});
  b.push_back(
      FakeTensor{"transformer.h.0.attn.bias", {1, 1, 48, 48}, std::vector<float>(48 * 48, 1.0f)});
  const VerifyReport r = run(to_hf_pytorch(w, gpt2_verify_family()), Convention::kHfPytorch, b,
                             Convention::kHfPytorch, c, c);
  EXPECT_TRUE(r.passed);
  ASSERT_EQ(r.b.unused_weights.size(), 1u);  // the causal-mask buffer is known, not reported
  EXPECT_EQ(r.b.unused_weights[0], "transformer.h.4.ln_1.weight");
}

// --- configs -------------------------------------------------------------------------------

class VerifyConfig : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("tf_verify_cfg_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto p = dir / name;
    std::ofstream(p) << text;
    return p.string();
  }
  void TearDown() override {
    std::filesystem::remove_all(std::filesystem::temp_directory_path() /
                                ("tf_verify_cfg_" + std::to_string(::getpid())));
  }
};

TEST_F(VerifyConfig, ReadsEachConventionsConfigLikeItsFramework) {
  auto hp = read_model_config(
      gpt2_verify_family(), Convention::kOpenAiTf1,
      write("hparams.json",
            R"({"n_vocab": 1000, "n_ctx": 512, "n_embd": 32, "n_head": 4, "n_layer": 5})"));
  EXPECT_EQ(hp.inner, 128);
  EXPECT_EQ(hp.layer_norm_eps, 1e-5);
  EXPECT_EQ(hp.activation, Activation::kGeluTanh);

  auto g = read_model_config(
      gpt2_verify_family(), Convention::kHfPytorch,
      write(
          "config.json",
          R"({"model_type": "gpt2", "n_embd": 32, "n_head": 4, "n_layer": 2, "n_inner": null, "layer_norm_epsilon": 1e-3, "activation_function": "gelu"})"));
  EXPECT_EQ(g.vocab_size, 50257);
  EXPECT_EQ(g.layer_norm_eps, 1e-3);
  EXPECT_EQ(g.activation, Activation::kGeluErf);

  const std::string bert = write(
      "bert_config.json",
      R"({"vocab_size": 99, "hidden_size": 32, "num_attention_heads": 4, "layer_norm_eps": 1e-5})");
  auto google = read_model_config(bert_verify_family(), Convention::kGoogleTf1, bert);
  EXPECT_EQ(google.type_vocab_size, 16);    // Google's default, not HF's 2
  EXPECT_EQ(google.layer_norm_eps, 1e-12);  // modeling.py ignores the key
  EXPECT_EQ(google.activation, Activation::kGeluErf);
  auto hf = read_model_config(bert_verify_family(), Convention::kHfPytorch, bert);
  EXPECT_EQ(hf.type_vocab_size, 2);
  EXPECT_EQ(hf.layer_norm_eps, 1e-5);
}

TEST_F(VerifyConfig, DistilBertReadsItsOwnKeys) {
  const Family& f = *family_from_name("distilbert");
  auto c = read_model_config(
      f, Convention::kHfTf2,
      write("config.json",
            R"({"model_type": "distilbert", "vocab_size": 50, "dim": 16, "n_layers": 2,
                "n_heads": 2, "hidden_dim": 24, "activation": "relu", "layer_norm_eps": 1e-5})"));
  EXPECT_EQ(c.hidden, 16);
  EXPECT_EQ(c.layers, 2);
  EXPECT_EQ(c.heads, 2);
  EXPECT_EQ(c.inner, 24);
  EXPECT_EQ(c.max_positions, 512);
  EXPECT_EQ(c.activation, Activation::kRelu);
  EXPECT_EQ(c.layer_norm_eps, 1e-12);  // hard-coded by both frameworks: the key is ignored
  EXPECT_EQ(c.type_vocab_size, 0);     // no token types
  // PretrainedConfig sets the attribute-map spelling after dim, so it wins.
  c = read_model_config(
      f, Convention::kHfPytorch,
      write("config.json", R"({"model_type": "distilbert", "dim": 16, "hidden_size": 8,
                               "n_heads": 2})"));
  EXPECT_EQ(c.hidden, 8);
}

TEST_F(VerifyConfig, RefusesWhatItCannotRun) {
  auto expect_bad = [&](const Family& f, Convention c, const std::string& text) {
    try {
      read_model_config(f, c, write("c.json", text));
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << text;
    }
  };
  expect_bad(gpt2_verify_family(), Convention::kOpenAiTf1, R"({"n_ctx": 1024})");  // no n_vocab
  expect_bad(gpt2_verify_family(), Convention::kOpenAiTf1, R"({"n_vocab": 10.5})");
  expect_bad(gpt2_verify_family(), Convention::kHfPytorch, R"({"n_embd": 30, "n_head": 4})");
  expect_bad(gpt2_verify_family(), Convention::kHfPytorch, R"({"activation_function": "mystery"})");
  expect_bad(gpt2_verify_family(), Convention::kHfPytorch, R"({"model_type": "bert"})");
  expect_bad(gpt2_verify_family(), Convention::kHfPytorch, R"({"n_embd": 1e30})");
  expect_bad(bert_verify_family(), Convention::kHfPytorch,
             R"({"position_embedding_type": "relative_key"})");
  expect_bad(bert_verify_family(), Convention::kHfPytorch, R"([1, 2])");
  expect_bad(bert_verify_family(), Convention::kHfPytorch, R"({"hidden_size": )");
  expect_bad(bert_verify_family(), Convention::kHfPytorch, R"({"vocab_size": -3})");
  const Family& distilbert = *family_from_name("distilbert");
  expect_bad(distilbert, Convention::kHfPytorch, R"({"model_type": "bert"})");
  expect_bad(distilbert, Convention::kHfPytorch, R"({"model_type": "distilbert", "n_heads": 5})");
  expect_bad(distilbert, Convention::kHfTf2,
             R"({"model_type": "distilbert", "activation": "mystery"})");
}

}  // namespace
}  // namespace tensorferry::verify
