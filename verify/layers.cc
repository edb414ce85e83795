#include "verify/layers.h"

#include <cblas.h>

#include <algorithm>

#include "core/error.h"

namespace tensorferry::verify {
namespace {

Shape stored_matrix_shape(Use use, int64_t in, int64_t out) {
  const auto i = static_cast<uint64_t>(in);
  const auto o = static_cast<uint64_t>(out);
  switch (use) {
    case Use::kLinear:
    case Use::kTransposedB: return {o, i};
    case Use::kDense:
    case Use::kConv1D: return {i, o};
    case Use::kOpenAiConv1D: return {1, i, o};
    default:
      throw WeightProblem("parameter table error: " + std::string(use_description(use)) +
                          " used as a matrix");
  }
}

Shape stored_vector_shape(Use use, int64_t n) {
  if (use == Use::kRowVector) return {1, static_cast<uint64_t>(n)};
  return {static_cast<uint64_t>(n)};
}

}  // namespace

Matrix dense_layer(ModelWeights& weights, Param weight, int layer, const Matrix& x, int64_t out) {
  const Use use = weights.spec(weight).use;
  const std::vector<double> w = weights.read(weight, layer, stored_matrix_shape(use, x.cols, out));
  return matmul(x, w.data(), x.cols, out, stored_out_by_in(use));
}

Matrix dense_layer(ModelWeights& weights, Param weight, Param bias, int layer, const Matrix& x,
                   int64_t out) {
  Matrix y = dense_layer(weights, weight, layer, x, out);
  add_bias(y, weights.read(bias, layer, stored_vector_shape(weights.spec(bias).use, out)));
  return y;
}

void layer_norm(ModelWeights& weights, Param scale, Param shift, int layer, Matrix& x, double eps) {
  const auto g = weights.read(scale, layer, stored_vector_shape(weights.spec(scale).use, x.cols));
  const auto b = weights.read(shift, layer, stored_vector_shape(weights.spec(shift).use, x.cols));
  layer_norm(x, g, b, eps);
}

Matrix gather_rows(ModelWeights& weights, Param table, int64_t rows, int64_t width,
                   const std::vector<int64_t>& ids) {
  TensorView view =
      weights.view(table, 0, {static_cast<uint64_t>(rows), static_cast<uint64_t>(width)});
  Matrix out(static_cast<int64_t>(ids.size()), width);
  for (size_t r = 0; r < ids.size(); ++r) {
    if (ids[r] < 0 || ids[r] >= rows)
      throw Error(ErrorKind::kUsage, "id " + std::to_string(ids[r]) + " is outside the " +
                                         std::to_string(rows) + " rows of " + view.entry->name);
    rows_to_double(view, static_cast<uint64_t>(width), static_cast<uint64_t>(ids[r]), 1,
                   out.row(static_cast<int64_t>(r)));
  }
  weights.release(view);
  return out;
}

Matrix project_on_rows(ModelWeights& weights, Param table, int64_t rows, int64_t width,
                       const Matrix& x) {
  TensorView view =
      weights.view(table, 0, {static_cast<uint64_t>(rows), static_cast<uint64_t>(width)});
  Matrix out(x.rows, rows);
  constexpr int64_t kBlock = 2048;
  std::vector<double> block;
  for (int64_t first = 0; first < rows; first += kBlock) {
    const int64_t count = std::min(kBlock, rows - first);
    block.resize(static_cast<size_t>(count * width));
    rows_to_double(view, static_cast<uint64_t>(width), static_cast<uint64_t>(first),
                   static_cast<uint64_t>(count), block.data());
    if (x.rows == 0) continue;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(x.rows),
                static_cast<blasint>(count), static_cast<blasint>(width), 1.0, x.data.data(),
                static_cast<blasint>(width), block.data(), static_cast<blasint>(width), 0.0,
                out.data.data() + first, static_cast<blasint>(rows));
  }
  weights.release(view);
  return out;
}

}  // namespace tensorferry::verify
