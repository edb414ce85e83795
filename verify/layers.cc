#include "verify/layers.h"

#include <cblas.h>

#include <algorithm>

#include "core/error.h"
#include "core/mapped_file.h"

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

// Rows per block: about `block_bytes` of doubles, at least one row.
int64_t rows_per_block(int64_t width, size_t block_bytes) {
  const auto row_bytes = static_cast<size_t>(std::max<int64_t>(width, 1)) * sizeof(double);
  return static_cast<int64_t>(std::max<size_t>(1, block_bytes / row_bytes));
}

// Converts rows [first, first + count) of `view` into `block` and drops their mapped pages.
void convert_rows(const TensorView& view, int64_t width, int64_t first, int64_t count,
                  std::vector<double>& block) {
  const auto w = static_cast<uint64_t>(width);
  block.resize(static_cast<size_t>(count * width));
  rows_to_double(view, w, static_cast<uint64_t>(first), static_cast<uint64_t>(count), block.data());
  const size_t row_bytes = w * dtype_size(view.entry->dtype);
  release_consumed(view.bytes.subspan(static_cast<size_t>(first) * row_bytes,
                                      static_cast<size_t>(count) * row_bytes));
}

Shape stored_vector_shape(Use use, int64_t n) {
  if (use == Use::kRowVector) return {1, static_cast<uint64_t>(n)};
  return {static_cast<uint64_t>(n)};
}

}  // namespace

Matrix multiply_stored(const TensorView& w, int64_t rows, int64_t width, bool out_by_in,
                       const Matrix& x, size_t block_bytes) {
  const int64_t out = out_by_in ? rows : width;
  Matrix y(x.rows, out);
  const int64_t step = rows_per_block(width, block_bytes);
  std::vector<double> block;
  for (int64_t first = 0; first < rows; first += step) {
    const int64_t count = std::min(step, rows - first);
    convert_rows(w, width, first, count, block);
    if (x.rows == 0 || width == 0) continue;
    if (out_by_in) {
      // Rows are output units: this block fills columns [first, first + count) of y.
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(x.rows),
                  static_cast<blasint>(count), static_cast<blasint>(width), 1.0, x.data.data(),
                  static_cast<blasint>(x.cols), block.data(), static_cast<blasint>(width), 0.0,
                  y.data.data() + first, static_cast<blasint>(out));
    } else {
      // Rows are input units: this block adds x[:, first:first+count] · block to all of y.
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(x.rows),
                  static_cast<blasint>(out), static_cast<blasint>(count), 1.0,
                  x.data.data() + first, static_cast<blasint>(x.cols), block.data(),
                  static_cast<blasint>(out), first == 0 ? 0.0 : 1.0, y.data.data(),
                  static_cast<blasint>(out));
    }
  }
  return y;
}

Matrix dense_layer(ModelWeights& weights, Param weight, int layer, const Matrix& x, int64_t out) {
  const Use use = weights.spec(weight).use;
  const bool out_by_in = stored_out_by_in(use);
  TensorView view = weights.view(weight, layer, stored_matrix_shape(use, x.cols, out));
  Matrix y = out_by_in ? multiply_stored(view, out, x.cols, true, x)
                       : multiply_stored(view, x.cols, out, false, x);
  weights.release(view);
  return y;
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

void rms_norm(ModelWeights& weights, Param scale, int layer, Matrix& x, double eps) {
  rms_norm(x, weights.read(scale, layer, stored_vector_shape(weights.spec(scale).use, x.cols)),
           eps);
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
    // Each row read maps a large folio around it; dozens of scattered rows would keep as many
    // 2 MiB regions resident until the table is released.
    const size_t row_bytes = static_cast<size_t>(width) * dtype_size(view.entry->dtype);
    release_around(view.bytes.subspan(static_cast<size_t>(ids[r]) * row_bytes, row_bytes));
  }
  weights.release(view);
  return out;
}

Matrix project_on_rows(ModelWeights& weights, Param table, int64_t rows, int64_t width,
                       const Matrix& x) {
  TensorView view =
      weights.view(table, 0, {static_cast<uint64_t>(rows), static_cast<uint64_t>(width)});
  Matrix out = multiply_stored(view, rows, width, /*out_by_in=*/true, x);
  weights.release(view);
  return out;
}

}  // namespace tensorferry::verify
