// The arithmetic of the reference forward passes, in double precision. Matrix products go to the
// system BLAS (OpenBLAS dgemm); reductions (LayerNorm moments, softmax sums) are plain double
// loops. Evaluating fp32 weights in fp64 keeps the rounding of the reference itself around 1e-13
// relative, far below the 1e-5 verify tests for, so the figures it reports measure the
// checkpoints and not the reference.
#pragma once

#include <cstdint>
#include <vector>

#include "verify/model_config.h"

namespace tensorferry::verify {

// Row-major rows × cols.
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), data(static_cast<size_t>(r * c), 0.0) {}
  double* row(int64_t r) { return data.data() + r * cols; }
  const double* row(int64_t r) const { return data.data() + r * cols; }
};

// y = x·Wᵀ when `w_out_by_in` (W stored [out, in], PyTorch Linear), else y = x·W (W [in, out]).
Matrix matmul(const Matrix& x, const double* w, int64_t in, int64_t out, bool w_out_by_in);
void add_bias(Matrix& x, const std::vector<double>& bias);
void add_in_place(Matrix& x, const Matrix& y);
// Normalises each row: (x − mean) / sqrt(var + eps) · scale + shift, biased variance.
void layer_norm(Matrix& x, const std::vector<double>& scale, const std::vector<double>& shift,
                double eps);
// RMSNorm as LlamaRMSNorm: x / sqrt(mean(x²) + eps) · scale (no mean subtracted, no shift).
void rms_norm(Matrix& x, const std::vector<double>& scale, double eps);
void activate(Matrix& x, Activation activation);
double activate(double x, Activation activation);

// Multi-head scaled dot-product attention over each sequence separately. q, k, v: [rows, width]
// with the rows of sequence s in [offsets[s], offsets[s+1]); head h owns columns
// [h·width/heads, (h+1)·width/heads). Scores are scaled by 1/sqrt(head width); `causal` lets
// position i see only positions ≤ i, and a `window` > 0 only the last `window` of those (Mistral's
// sliding window). Returns the heads' outputs side by side, [rows, width].
Matrix attention(const Matrix& q, const Matrix& k, const Matrix& v,
                 const std::vector<int64_t>& offsets, int64_t heads, bool causal,
                 int64_t window = 0);

// Grouped-query attention (transformers' repeat_kv): k and v hold `kv_heads` heads, each shared
// by heads/kv_heads consecutive query heads of q. Causal, with the optional sliding window.
Matrix grouped_attention(const Matrix& q, const Matrix& k, const Matrix& v,
                         const std::vector<int64_t>& offsets, int64_t heads, int64_t kv_heads,
                         int64_t window);

// Columns [first, first + count) of x.
Matrix columns(const Matrix& x, int64_t first, int64_t count);

}  // namespace tensorferry::verify
