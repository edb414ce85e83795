// Llama 3 rotary scaling: rope_freqs.weight's divisors and the rope_scaling rebuilt from them
// (the divisors themselves are compared bit for bit with convert_hf_to_gguf.py's in
// tests/python/torch/test_gguf_llama.py).
#include "models/gguf/gguf_rope.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/error.h"

namespace tensorferry {
namespace {

Llama3Rope llama_3_2() {  // Llama 3.2's settings, head_dim 128
  Llama3Rope r;
  r.base = 500000;
  r.dim = 128;
  r.factor = 32;
  return r;
}

TEST(GgufRope, FactorsAreOneForHighFrequenciesAndFactorForLowOnes) {
  const std::vector<float> f = llama3_rope_factors(llama_3_2());
  ASSERT_EQ(f.size(), 64U);
  EXPECT_EQ(f.front(), 1.0F);
  EXPECT_EQ(f.back(), 32.0F);
  size_t blended = 0;
  for (size_t i = 1; i < f.size(); ++i) {
    EXPECT_GE(f[i], f[i - 1]);  // lower frequencies are scaled more
    blended += f[i] != 1.0F && f[i] != 32.0F;
  }
  EXPECT_GT(blended, 0U);
}

TEST(GgufRope, ConfigWithoutLlama3ScalingHasNoTensor) {
  EXPECT_TRUE(llama3_rope_factors_of({{"hidden_size", 64}, {"num_attention_heads", 4}}).empty());
  EXPECT_TRUE(llama3_rope_factors_of({{"hidden_size", 64},
                                      {"num_attention_heads", 4},
                                      {"rope_scaling", {{"rope_type", "linear"}, {"factor", 2}}}})
                  .empty());
}

// The converter reads the original context from config.json's top level, not rope_scaling.
TEST(GgufRope, OriginalContextComesFromTheTopLevelLikeTheConverter) {
  nlohmann::json hf = {
      {"hidden_size", 4096},
      {"num_attention_heads", 32},
      {"rope_theta", 500000.0},
      {"rope_scaling",
       {{"rope_type", "llama3"}, {"factor", 8.0}, {"original_max_position_embeddings", 4096}}}};
  Llama3Rope r;
  r.base = 500000;
  r.dim = 128;
  EXPECT_EQ(llama3_rope_factors_of(hf), llama3_rope_factors(r));  // 8192
  hf["original_max_position_embeddings"] = 4096;
  r.original_context = 4096;
  EXPECT_EQ(llama3_rope_factors_of(hf), llama3_rope_factors(r));
}

TEST(GgufRope, RopeScalingIsRebuiltFromTheDivisors) {
  for (const double context : {8192.0, 4096.0, 32768.0}) {
    Llama3Rope r = llama_3_2();
    r.original_context = context;
    const nlohmann::json s = llama3_rope_scaling(llama3_rope_factors(r), r.base, r.dim, "m.gguf");
    EXPECT_EQ(s["rope_type"], "llama3");
    EXPECT_EQ(s["factor"], 32.0);
    EXPECT_EQ(s["low_freq_factor"], 1.0);
    EXPECT_EQ(s["high_freq_factor"], 4.0);
    EXPECT_EQ(s["original_max_position_embeddings"], static_cast<uint64_t>(context));
  }
}

// With a rotary width of 4 even the lowest frequency is blended: other settings reproduce the
// two divisors too, Llama 3's own comes back.
TEST(GgufRope, NarrowRotaryWidthGivesBackLlama3Settings) {
  Llama3Rope r;
  r.base = 500000;
  r.dim = 4;
  const std::vector<float> f = llama3_rope_factors(r);
  ASSERT_EQ(f.size(), 2U);
  ASSERT_NE(f[1], 8.0F);  // blended
  const nlohmann::json s = llama3_rope_scaling(f, r.base, r.dim, "m.gguf");
  EXPECT_EQ(s["factor"], 8.0);
  EXPECT_EQ(s["original_max_position_embeddings"], 8192U);
}

TEST(GgufRope, DivisorsOfNoLlama3ScalingAreBadInput) {
  std::vector<float> f = llama3_rope_factors(llama_3_2());
  f[1] = 3.0F;  // a high frequency scaled: no llama3 setting does that
  try {
    llama3_rope_scaling(f, 500000, 128, "m.gguf");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("rope_freqs.weight"), std::string::npos) << e.what();
  }
  // One value per frequency pair of the rotary width.
  EXPECT_THROW(llama3_rope_scaling(std::vector<float>(10, 1.0F), 500000, 128, "m.gguf"), Error);
}

}  // namespace
}  // namespace tensorferry
