// Unit tests of `diff` on in-memory checkpoints.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/cpp/verify_fixtures.h"
#include "verify/diff.h"

namespace tensorferry::verify {
namespace {

using namespace testing;

const TensorDiff& entry(const DiffReport& r, const std::string& name) {
  for (const auto& d : r.tensors)
    if (d.name_a == name || (d.name_a.empty() && d.name_b == name)) return d;
  throw std::runtime_error("no entry " + name);
}

DiffReport diff(std::vector<FakeTensor> a, std::vector<FakeTensor> b, DiffOptions options = {}) {
  FakeReader ra(std::move(a), "a"), rb(std::move(b), "b");
  return diff_readers(ra, rb, options);
}

TEST(Diff, IdenticalAcrossConventionsIncludingTransposedKernels) {
  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 21);
  const DiffReport r = diff(to_hf_pytorch(w, bert_verify_family()), to_google(w));
  EXPECT_TRUE(r.same);
  EXPECT_EQ(r.matching, "bert hf-pytorch <-> bert google-tf1");
  const auto& q = entry(r, "bert.encoder.layer.1.attention.self.query.weight");
  EXPECT_EQ(q.status, DiffStatus::kIdentical);
  EXPECT_TRUE(q.transposed);
  EXPECT_EQ(q.name_b, "bert/encoder/layer_1/attention/self/query/kernel");
  EXPECT_EQ(q.canonical, "encoder.layer.1.attention.self.query.weight");
  // Google's output_weights are stored [out, in] like PyTorch: not transposed.
  EXPECT_FALSE(entry(r, "cls.seq_relationship.weight").transposed);
  for (const auto& d : r.tensors) EXPECT_EQ(d.status, DiffStatus::kIdentical) << d.name_a;

  const DiffReport g = diff(to_hf_pytorch(random_gpt2(tiny_gpt2_config(), 2), gpt2_verify_family()),
                            to_openai(random_gpt2(tiny_gpt2_config(), 2)));
  EXPECT_TRUE(g.same);
  EXPECT_FALSE(entry(g, "transformer.h.0.attn.c_attn.weight").transposed);  // [1,in,out] reshape
}

TEST(Diff, FindsOneChangedElementAndItsIndexThroughATranspose) {
  const ModelConfig c = tiny_bert_config();
  const Weights w = random_bert(c, 22);
  auto b = to_bert_tf2(w);
  // Kernel [in=24, out=16] of intermediate dense: element [5, 3] is weight [3, 5].
  auto* k =
      find(b, "bert/tf_bert_for_pre_training/bert/encoder/layer_._0/intermediate/dense/kernel:0");
  ASSERT_EQ(k->shape, (Shape{16, 24}));
  k->values[5 * 24 + 3] += 0.5f;
  const DiffReport r = diff(to_hf_pytorch(w, bert_verify_family()), b);
  EXPECT_FALSE(r.same);
  const auto& d = entry(r, "bert.encoder.layer.0.intermediate.dense.weight");
  EXPECT_EQ(d.status, DiffStatus::kDifferent);
  EXPECT_EQ(d.mismatched, 1u);
  ASSERT_TRUE(d.first_mismatch);
  EXPECT_EQ(unflatten(*d.first_mismatch, d.shape_a), (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(unflatten(index_in_b(d, *d.first_mismatch), d.shape_b), (std::vector<uint64_t>{5, 3}));
  EXPECT_NEAR(d.max_abs, 0.5, 1e-6);
}

TEST(Diff, TolerancesDtypesAndNan) {
  std::vector<FakeTensor> a = {{"x", {4}, {1.0f, 2.0f, 3.0f, 0.1f}},
                               {"n", {2}, {std::nanf(""), 1}}};
  auto b = a;
  b[0].dtype = DType::kF16;  // 0.1 is not exact in f16
  DiffReport r = diff(a, b);
  EXPECT_EQ(entry(r, "x").status, DiffStatus::kDifferent);
  EXPECT_EQ(entry(r, "x").mismatched, 1u);
  EXPECT_EQ(*entry(r, "x").first_mismatch, 3u);
  EXPECT_EQ(entry(r, "n").status, DiffStatus::kIdentical);  // same NaN bits
  DiffOptions loose;
  loose.rtol = 1e-3;
  r = diff(a, b, loose);
  EXPECT_EQ(entry(r, "x").status, DiffStatus::kWithinTolerance);
  EXPECT_TRUE(r.same);
  b = a;
  b[1].values[0] = 5;
  r = diff(a, b, loose);
  EXPECT_EQ(entry(r, "n").status, DiffStatus::kDifferent);
  EXPECT_TRUE(std::isinf(entry(r, "n").max_abs));
}

TEST(Diff, MissingShapeAndIgnoredBuffers) {
  std::vector<FakeTensor> a = {{"w", {2, 3}, std::vector<float>(6, 1)},
                               {"only_a", {1}, {1}},
                               {"step", {}, {7}, DType::kI64, TensorRole::kCounter}};
  std::vector<FakeTensor> b = {{"w", {3, 2}, std::vector<float>(6, 1)}, {"only_b", {1}, {1}}};
  DiffReport r = diff(a, b);
  EXPECT_FALSE(r.same);
  EXPECT_EQ(entry(r, "w").status, DiffStatus::kShape);
  EXPECT_EQ(entry(r, "only_a").status, DiffStatus::kOnlyInA);
  EXPECT_EQ(entry(r, "only_b").status, DiffStatus::kOnlyInB);
  // Training state on one side is what convert skips, in convert's words (issue 12 item 8).
  EXPECT_EQ(entry(r, "step").status, DiffStatus::kSkipped);
  EXPECT_EQ(entry(r, "step").note, "training counter");
  EXPECT_FALSE(entry(r, "step").failed());

  // A recognised convention's buffers and tied aliases are skipped, not missing.
  const Weights w = random_gpt2(tiny_gpt2_config(), 3);
  auto pt = to_hf_pytorch(w, gpt2_verify_family());
  pt.push_back(FakeTensor{"transformer.h.0.attn.bias", {1, 1, 2, 2}, {1, 0, 1, 1}});
  auto lm = *find(pt, "transformer.wte.weight");
  lm.name = "lm_head.weight";
  pt.push_back(lm);
  r = diff(pt, to_openai(w));
  EXPECT_TRUE(r.same);
  EXPECT_EQ(entry(r, "lm_head.weight").status, DiffStatus::kSkipped);
  EXPECT_EQ(entry(r, "transformer.h.0.attn.bias").status, DiffStatus::kSkipped);

  // --by-name compares stored names only.
  DiffOptions by_name;
  by_name.by_name = true;
  r = diff(to_hf_pytorch(w, gpt2_verify_family()), to_openai(w), by_name);
  EXPECT_EQ(r.matching, "names");
  EXPECT_FALSE(r.same);
}

}  // namespace
}  // namespace tensorferry::verify
