#include "verify/identical_weights.h"

#include <cstring>

#include "core/dtype.h"
#include "core/mapped_file.h"

namespace tensorferry::verify {
namespace {

// Everything the forward pass reads from a config, i.e. all of it but the file it came from and
// the activation's spelling ("gelu_new" and "gelu_pytorch_tanh" are one function).
bool same_numbers(const ModelConfig& a, const ModelConfig& b) {
  ModelConfig x = a, y = b;
  x.file.clear();
  y.file.clear();
  x.activation_name.clear();
  y.activation_name.clear();
  return x == y;
}

// The shape without its leading 1s: [1, in, out] (OpenAI conv1d) and [1, n] (TFConv1D bias)
// hold the same row-major elements as [in, out] and [n].
Shape squeezed(const Shape& shape) {
  size_t first = 0;
  while (first + 1 < shape.size() && shape[first] == 1) ++first;
  return Shape(shape.begin() + static_cast<ptrdiff_t>(first), shape.end());
}

// Whether b, a [cols, rows] matrix, is the transpose of a, a [rows, cols] one, bit for bit, in
// tiles that keep both sides' rows in cache. Elements compare as unsigned integers of their
// width: bits, not values (-0 is not 0, and a NaN equals itself).
template <typename Bits>
bool is_transpose_of(const std::byte* a, const std::byte* b, uint64_t rows, uint64_t cols) {
  constexpr uint64_t kTile = 64;
  Bits tile[kTile][kTile];  // tile[r][c] = b[c][r]: then compared row by row with a
  for (uint64_t r0 = 0; r0 < rows; r0 += kTile) {
    const uint64_t nr = std::min(kTile, rows - r0);
    for (uint64_t c0 = 0; c0 < cols; c0 += kTile) {
      const uint64_t nc = std::min(kTile, cols - c0);
      for (uint64_t c = 0; c < nc; ++c) {
        const std::byte* b_row = b + ((c0 + c) * rows + r0) * sizeof(Bits);
        for (uint64_t r = 0; r < nr; ++r)
          std::memcpy(&tile[r][c], b_row + r * sizeof(Bits), sizeof(Bits));
      }
      for (uint64_t r = 0; r < nr; ++r)
        if (std::memcmp(a + ((r0 + r) * cols + c0) * sizeof(Bits), tile[r], nc * sizeof(Bits)) != 0)
          return false;
    }
  }
  return true;
}

bool is_transpose(const std::byte* a, const std::byte* b, uint64_t rows, uint64_t cols,
                  size_t size) {
  switch (size) {
    case 1: return is_transpose_of<uint8_t>(a, b, rows, cols);
    case 2: return is_transpose_of<uint16_t>(a, b, rows, cols);
    case 4: return is_transpose_of<uint32_t>(a, b, rows, cols);
    case 8: return is_transpose_of<uint64_t>(a, b, rows, cols);
    default: return false;  // the forward pass decides
  }
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  if (a.size() != b.size()) return false;
  // In pieces whose mapped pages are dropped once compared: a table may be hundreds of MB.
  for (size_t done = 0; done < a.size(); done += kStreamPiece) {
    const size_t n = std::min(kStreamPiece, a.size() - done);
    if (std::memcmp(a.data() + done, b.data() + done, n) != 0) return false;
    release_consumed(a.subspan(done, n));
    release_consumed(b.subspan(done, n));
  }
  return true;
}

// Whether a stored shape is one the framework applies the tensor with (the forward pass refuses
// the others, e.g. OpenAI's conv1d weight without its leading 1); its sizes against the config
// are the same on both sides when the configs are equal and the shapes match.
bool shape_fits_use(Use use, const Shape& shape) {
  switch (use) {
    case Use::kVector: return shape.size() == 1;
    case Use::kRowVector: return shape.size() == 2 && shape[0] == 1;
    case Use::kOpenAiConv1D: return shape.size() == 3 && shape[0] == 1;
    case Use::kTable:
    case Use::kLinear:
    case Use::kTransposedB:
    case Use::kDense:
    case Use::kConv1D: return shape.size() == 2;
  }
  return false;
}

// One parameter of one layer on both sides; false when it differs or cannot be compared.
bool same_parameter(Model& a, Model& b, Param param, int layer, IdenticalWeights& seen) {
  const bool in_a = a.weights->has(param, layer);
  const bool in_b = b.weights->has(param, layer);
  if (in_a != in_b) return false;
  if (!in_a) return true;
  const TensorEntry& ea = a.weights->entry(param, layer);
  const TensorEntry& eb = b.weights->entry(param, layer);
  if (ea.dtype != eb.dtype || !is_floating(ea.dtype)) return false;
  const Use use_a = a.weights->spec(param).use;
  const Use use_b = b.weights->spec(param).use;
  if (!shape_fits_use(use_a, ea.shape) || !shape_fits_use(use_b, eb.shape)) return false;
  const Shape sa = squeezed(ea.shape), sb = squeezed(eb.shape);
  const bool transposed = is_matrix_use(use_a) && is_matrix_use(use_b) &&
                          stored_out_by_in(use_a) != stored_out_by_in(use_b);
  if (transposed ? !(sa.size() == 2 && sb.size() == 2 && sa[0] == sb[1] && sa[1] == sb[0])
                 : sa != sb)
    return false;
  // Views check what the forward pass checks: a floating dtype, and that copies Keras stores of
  // a tied weight agree.
  const TensorView va = a.weights->view(param, layer, ea.shape);
  const TensorView vb = b.weights->view(param, layer, eb.shape);
  const bool same = transposed ? is_transpose(va.bytes.data(), vb.bytes.data(), sa[0], sa[1],
                                              dtype_size(ea.dtype))
                               : same_bytes(va.bytes, vb.bytes);
  a.weights->release(va);
  b.weights->release(vb);
  if (!same) return false;
  ++seen.tensors;
  seen.values += va.bytes.size() / dtype_size(ea.dtype);
  seen.transposed += transposed ? 1 : 0;
  return true;
}

}  // namespace

// A parameter only `side`'s convention names (an HF lm_head or MLM decoder that the TF1
// conventions do not store: their forward passes project on the token table instead). It
// changes nothing when absent, or when it is the token table again bit for bit (a tied copy):
// then `side`'s forward pass computes with the same numbers whichever of the two it reads.
bool one_sided_parameter_is_inert(Model& side, Param param, int layer) {
  if (!side.weights->has(param, layer)) return true;
  const Param table = side.family->token_table;
  if (param == table || !side.weights->has(table, -1)) return false;
  const TensorEntry& copy = side.weights->entry(param, layer);
  const TensorEntry& tokens = side.weights->entry(table, -1);
  if (copy.dtype != tokens.dtype || copy.shape != tokens.shape) return false;
  // Straight from the reader, each into its own buffer: both views stay valid together (a
  // mapped reader hands out views of the file, others copy).
  CheckpointReader& reader = side.weights->reader();
  const size_t copy_index = static_cast<size_t>(&copy - reader.tensors().data());
  const size_t tokens_index = static_cast<size_t>(&tokens - reader.tensors().data());
  std::vector<std::byte> copy_scratch, tokens_scratch;
  const bool same =
      same_bytes(reader.read(copy_index, copy_scratch), reader.read(tokens_index, tokens_scratch));
  reader.release(copy_index);
  reader.release(tokens_index);
  return same;
}

std::optional<IdenticalWeights> identical_weights(Model& a, Model& b) {
  if (a.family != b.family || !same_numbers(a.config, b.config)) return std::nullopt;
  IdenticalWeights seen;
  try {
    // Every parameter either side's convention has, so that one B holds and A lacks counts too.
    for (Model* side : {&a, &b}) {
      Model& other = side == &a ? b : a;
      for (const ParamSpec& spec : side->family->params(side->convention)) {
        const bool in_both = find_param(*other.family, other.convention, spec.param) != nullptr;
        if (side == &b && in_both) continue;  // compared from A's side
        const int64_t layers = spec.per_layer ? a.config.layers : 1;
        for (int64_t layer = 0; layer < layers; ++layer) {
          const int index = spec.per_layer ? static_cast<int>(layer) : -1;
          if (in_both ? !same_parameter(a, b, spec.param, index, seen)
                      : !one_sided_parameter_is_inert(*side, spec.param, index))
            return std::nullopt;
        }
      }
    }
  } catch (const WeightProblem&) {
    return std::nullopt;  // the forward pass reports it as the failure of its stage
  }
  return seen;
}

}  // namespace tensorferry::verify
