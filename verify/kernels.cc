#include "verify/kernels.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace tensorferry::verify {

Matrix matmul(const Matrix& x, const double* w, int64_t in, int64_t out, bool w_out_by_in) {
  Matrix y(x.rows, out);
  if (x.rows == 0 || out == 0) return y;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, w_out_by_in ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(x.rows), static_cast<blasint>(out), static_cast<blasint>(in),
              1.0, x.data.data(), static_cast<blasint>(x.cols), w,
              static_cast<blasint>(w_out_by_in ? in : out), 0.0, y.data.data(),
              static_cast<blasint>(out));
  return y;
}

void add_bias(Matrix& x, const std::vector<double>& bias) {
  for (int64_t r = 0; r < x.rows; ++r) {
    double* row = x.row(r);
    for (int64_t c = 0; c < x.cols; ++c) row[c] += bias[static_cast<size_t>(c)];
  }
}

void add_in_place(Matrix& x, const Matrix& y) {
  for (size_t i = 0; i < x.data.size(); ++i) x.data[i] += y.data[i];
}

void layer_norm(Matrix& x, const std::vector<double>& scale, const std::vector<double>& shift,
                double eps) {
  const double n = static_cast<double>(x.cols);
  for (int64_t r = 0; r < x.rows; ++r) {
    double* row = x.row(r);
    double sum = 0;
    for (int64_t c = 0; c < x.cols; ++c) sum += row[c];
    const double mean = sum / n;
    double squares = 0;
    for (int64_t c = 0; c < x.cols; ++c) squares += (row[c] - mean) * (row[c] - mean);
    const double inv = 1.0 / std::sqrt(squares / n + eps);
    for (int64_t c = 0; c < x.cols; ++c)
      row[c] =
          (row[c] - mean) * inv * scale[static_cast<size_t>(c)] + shift[static_cast<size_t>(c)];
  }
}

void rms_norm(Matrix& x, const std::vector<double>& scale, double eps) {
  const double n = static_cast<double>(x.cols);
  for (int64_t r = 0; r < x.rows; ++r) {
    double* row = x.row(r);
    double squares = 0;
    for (int64_t c = 0; c < x.cols; ++c) squares += row[c] * row[c];
    const double inv = 1.0 / std::sqrt(squares / n + eps);
    for (int64_t c = 0; c < x.cols; ++c) row[c] = row[c] * inv * scale[static_cast<size_t>(c)];
  }
}

double activate(double x, Activation activation) {
  switch (activation) {
    case Activation::kGeluErf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Activation::kGeluTanh: {
      const double c = std::sqrt(2.0 / std::numbers::pi);
      return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
    }
    case Activation::kGeluFast:
      return 0.5 * x * (1.0 + std::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
    case Activation::kQuickGelu: return x / (1.0 + std::exp(-1.702 * x));
    case Activation::kRelu: return x > 0 ? x : 0.0;
    case Activation::kSilu: return x / (1.0 + std::exp(-x));
    case Activation::kTanh: return std::tanh(x);
    case Activation::kLinear: return x;
  }
  return x;
}

void activate(Matrix& x, Activation activation) {
  for (double& v : x.data) v = activate(v, activation);
}

Matrix columns(const Matrix& x, int64_t first, int64_t count) {
  Matrix out(x.rows, count);
  for (int64_t r = 0; r < x.rows; ++r) std::copy_n(x.row(r) + first, count, out.row(r));
  return out;
}

Matrix attention(const Matrix& q, const Matrix& k, const Matrix& v,
                 const std::vector<int64_t>& offsets, int64_t heads, bool causal, int64_t window) {
  const int64_t width = q.cols;
  const int64_t head_width = width / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_width));
  Matrix out(q.rows, width);
  std::vector<double> scores;
  for (size_t s = 0; s + 1 < offsets.size(); ++s) {
    const int64_t begin = offsets[s];
    const int64_t len = offsets[s + 1] - begin;
    if (len == 0) continue;
    scores.assign(static_cast<size_t>(len * len), 0.0);
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t col = h * head_width;
      // scores = scale · q_h · k_hᵀ
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(len),
                  static_cast<blasint>(len), static_cast<blasint>(head_width), scale,
                  q.row(begin) + col, static_cast<blasint>(width), k.row(begin) + col,
                  static_cast<blasint>(width), 0.0, scores.data(), static_cast<blasint>(len));
      for (int64_t i = 0; i < len; ++i) {
        double* row = scores.data() + i * len;
        const int64_t visible = causal ? i + 1 : len;
        const int64_t first = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = first; j < visible; ++j) max = std::max(max, row[j]);
        double sum = 0;
        for (int64_t j = first; j < visible; ++j) sum += (row[j] = std::exp(row[j] - max));
        for (int64_t j = first; j < visible; ++j) row[j] /= sum;
        for (int64_t j = 0; j < first; ++j) row[j] = 0.0;
        for (int64_t j = visible; j < len; ++j) row[j] = 0.0;
      }
      // out_h = probabilities · v_h
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(len),
                  static_cast<blasint>(head_width), static_cast<blasint>(len), 1.0, scores.data(),
                  static_cast<blasint>(len), v.row(begin) + col, static_cast<blasint>(width), 0.0,
                  out.row(begin) + col, static_cast<blasint>(width));
    }
  }
  return out;
}

Matrix grouped_attention(const Matrix& q, const Matrix& k, const Matrix& v,
                         const std::vector<int64_t>& offsets, int64_t heads, int64_t kv_heads,
                         int64_t window) {
  const int64_t head_width = q.cols / heads;
  const int64_t group = heads / kv_heads;
  // Each key/value head copied next to every query head that reads it.
  auto repeat = [&](const Matrix& m) {
    Matrix out(m.rows, q.cols);
    for (int64_t r = 0; r < m.rows; ++r)
      for (int64_t h = 0; h < heads; ++h)
        std::copy_n(m.row(r) + (h / group) * head_width, head_width, out.row(r) + h * head_width);
    return out;
  };
  return attention(q, repeat(k), repeat(v), offsets, heads, /*causal=*/true, window);
}

}  // namespace tensorferry::verify
