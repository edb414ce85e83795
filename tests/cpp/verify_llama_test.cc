// The pieces of verify's LLaMA pass that GPT-2 and BERT do not have: rotary frequencies (default,
// linear, llama3), the rotate_half pairing, RMSNorm and grouped-query attention with a sliding
// window. transformers checks the whole pass in tests/python/torch/test_llama.py.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "verify/kernels.h"
#include "verify/rotary.h"

namespace tensorferry::verify {
namespace {

TEST(Rotary, InverseFrequenciesFollowThetaAndScaling) {
  RopeConfig rope;
  const auto plain = rotary_inverse_frequencies(rope, 8);
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_FLOAT_EQ(plain[0], 1.0f);
  EXPECT_FLOAT_EQ(plain[1], 0.1f);
  EXPECT_FLOAT_EQ(plain[3], 0.001f);

  rope.scaling = RopeScaling::kLinear;
  rope.factor = 4;
  EXPECT_FLOAT_EQ(rotary_inverse_frequencies(rope, 8)[1], 0.025f);

  // llama3 with an original context of 16: wavelength 2π (between 16/4 and 16/1) is blended,
  // the longer ones are divided by the factor, none is shorter than 4.
  rope = RopeConfig{};
  rope.scaling = RopeScaling::kLlama3;
  rope.factor = 8;
  rope.low_freq_factor = 1;
  rope.high_freq_factor = 4;
  rope.original_max_positions = 16;
  const auto scaled = rotary_inverse_frequencies(rope, 8);
  const double smooth = (16 / (2 * std::numbers::pi) - 1) / 3;
  EXPECT_NEAR(scaled[0], (1 - smooth) / 8 + smooth, 1e-6);
  EXPECT_FLOAT_EQ(scaled[2], plain[2] / 8);
}

TEST(Rotary, RotatesEachHeadsHalvesAsPairs) {
  const std::vector<float> inv_freq = {1.0f, 0.5f};
  const RotaryTable table = rotary_table(inv_freq, {0, 3});
  Matrix x(2, 8);  // two heads of width 4
  for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = static_cast<double>(i % 8) + 1;
  Matrix y = x;
  apply_rotary(y, table, 4);
  for (int64_t c = 0; c < 8; ++c) EXPECT_EQ(y.row(0)[c], x.row(0)[c]);  // position 0
  // Position 3, head 1, d = 1: the pair (x[5], x[7]) rotated by 3 · 0.5.
  const double c = static_cast<float>(std::cos(double{1.5f}));
  const double s = static_cast<float>(std::sin(double{1.5f}));
  EXPECT_DOUBLE_EQ(y.row(1)[5], x.row(1)[5] * c - x.row(1)[7] * s);
  EXPECT_DOUBLE_EQ(y.row(1)[7], x.row(1)[7] * c + x.row(1)[5] * s);
}

TEST(LlamaKernels, RmsNormHasNoMeanAndNoShift) {
  Matrix x(1, 2);
  x.data = {3, 4};
  rms_norm(x, {1, 2}, 0);
  const double rms = std::sqrt(12.5);
  EXPECT_DOUBLE_EQ(x.data[0], 3 / rms);
  EXPECT_DOUBLE_EQ(x.data[1], 8 / rms);
}

TEST(LlamaKernels, GroupedAttentionSharesKeyValueHeadsAndHonoursTheWindow) {
  const std::vector<int64_t> offsets = {0, 5};
  Matrix q(5, 4), k(5, 2), v(5, 2);
  for (size_t i = 0; i < q.data.size(); ++i) q.data[i] = std::sin(0.7 * static_cast<double>(i));
  for (size_t i = 0; i < k.data.size(); ++i) k.data[i] = std::cos(0.3 * static_cast<double>(i));
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<double>(i);
  // Two query heads of width 2 reading one key/value head = attention over the repeated head.
  Matrix k2(5, 4), v2(5, 4);
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 4; ++c) {
      k2.row(r)[c] = k.row(r)[c % 2];
      v2.row(r)[c] = v.row(r)[c % 2];
    }
  const Matrix grouped = grouped_attention(q, k, v, offsets, 2, 1, 0);
  const Matrix full = attention(q, k2, v2, offsets, 2, true);
  for (size_t i = 0; i < full.data.size(); ++i) EXPECT_DOUBLE_EQ(grouped.data[i], full.data[i]);
  // A window of 1: every position sees only itself, so the output is its own value row.
  const Matrix own = grouped_attention(q, k, v, offsets, 2, 1, 1);
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 4; ++c) EXPECT_DOUBLE_EQ(own.row(r)[c], v.row(r)[c % 2]);
}

}  // namespace
}  // namespace tensorferry::verify
