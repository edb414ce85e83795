// The layers of the reference forward passes, each applying stored tensors exactly the way the
// checkpoint's framework does (see convention.h: the Use of each parameter decides whether a
// weight multiplies as x·Wᵀ or x·W and which stored shape it must have).
#pragma once

#include <vector>

#include "verify/kernels.h"
#include "verify/weights.h"

namespace tensorferry::verify {

// y = x·W + b in the framework's own semantics for `weight` (PyTorch Linear: x·Wᵀ with W
// [out, in]; Keras Dense / Conv1D: x·W with W [in, out]; OpenAI conv1d: W [1, in, out]).
// `bias` may be a [out] vector or a TFConv1D [1, out] row.
Matrix dense_layer(ModelWeights& weights, Param weight, Param bias, int layer, const Matrix& x,
                   int64_t out);
// Same without a bias (LM heads).
Matrix dense_layer(ModelWeights& weights, Param weight, int layer, const Matrix& x, int64_t out);

// The product dense_layer computes, from a stored matrix `w` viewed as `rows` rows of `width`
// elements: x·Wᵀ when `out_by_in` (W [out, in]: rows = out), else x·W (W [in, out] or
// [1, in, out]: rows = in). The stored elements are converted to double a block of rows at a
// time (about `block_bytes` of doubles) and the mapped pages of each block are dropped once it is
// multiplied, so neither the fp64 copy nor the resident part of the stored tensor grows with it.
Matrix multiply_stored(const TensorView& w, int64_t rows, int64_t width, bool out_by_in,
                       const Matrix& x, size_t block_bytes = 4 << 20);

// LayerNorm with the stored scale and shift (each [width]).
void layer_norm(ModelWeights& weights, Param scale, Param shift, int layer, Matrix& x, double eps);

// RMSNorm with the stored scale ([width]).
void rms_norm(ModelWeights& weights, Param scale, int layer, Matrix& x, double eps);

// Rows `ids` of the embedding table `table`, which must be [rows, width].
Matrix gather_rows(ModelWeights& weights, Param table, int64_t rows, int64_t width,
                   const std::vector<int64_t>& ids);

// x · tableᵀ for a [rows, width] table (tied LM heads: logits against the token embeddings),
// converting the table a block of rows at a time so that it never exists in double precision.
Matrix project_on_rows(ModelWeights& weights, Param table, int64_t rows, int64_t width,
                       const Matrix& x);

}  // namespace tensorferry::verify
