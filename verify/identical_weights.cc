#include "verify/identical_weights.h"

#include <cstring>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "verify/finite.h"

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

// Whether `block`, rows [c0, c0 + count) of a [cols, rows] matrix, holds columns [c0, c0 + count)
// of a, a [rows, cols] one, bit for bit, in tiles that keep both sides' rows in cache. Elements
// compare as unsigned integers of their width: bits, not values (-0 is not 0, and a NaN equals
// itself).
template <typename Bits>
bool block_is_transpose_of(const std::byte* a, uint64_t rows, uint64_t cols, const std::byte* block,
                           uint64_t c0, uint64_t count) {
  constexpr uint64_t kTile = 64;
  Bits tile[kTile][kTile];  // tile[r][c] = block[c][r]: then compared row by row with a
  for (uint64_t r0 = 0; r0 < rows; r0 += kTile) {
    const uint64_t nr = std::min(kTile, rows - r0);
    for (uint64_t c1 = 0; c1 < count; c1 += kTile) {
      const uint64_t nc = std::min(kTile, count - c1);
      for (uint64_t c = 0; c < nc; ++c) {
        const std::byte* b_row = block + ((c1 + c) * rows + r0) * sizeof(Bits);
        for (uint64_t r = 0; r < nr; ++r)
          std::memcpy(&tile[r][c], b_row + r * sizeof(Bits), sizeof(Bits));
      }
      for (uint64_t r = 0; r < nr; ++r)
        if (std::memcmp(a + ((r0 + r) * cols + c0 + c1) * sizeof(Bits), tile[r],
                        nc * sizeof(Bits)) != 0)
          return false;
    }
  }
  return true;
}

bool block_is_transpose(const std::byte* a, uint64_t rows, uint64_t cols, size_t size,
                        const std::byte* block, uint64_t c0, uint64_t count) {
  switch (size) {
    case 1: return block_is_transpose_of<uint8_t>(a, rows, cols, block, c0, count);
    case 2: return block_is_transpose_of<uint16_t>(a, rows, cols, block, c0, count);
    case 4: return block_is_transpose_of<uint32_t>(a, rows, cols, block, c0, count);
    case 8: return block_is_transpose_of<uint64_t>(a, rows, cols, block, c0, count);
    default: return false;  // the forward pass decides
  }
}

// Takes b, a [cols, rows] matrix, in pieces of any length (a stream) and tells whether it is the
// transpose of a, a [rows, cols] one: b's rows are gathered into blocks of whole rows (about a
// stream piece) and each block is compared with a's columns.
class TransposeCheck {
 public:
  TransposeCheck(std::span<const std::byte> a, uint64_t rows, uint64_t cols, size_t size,
                 std::vector<std::byte>& block)
      : a_(a), rows_(rows), cols_(cols), size_(size), row_bytes_(rows * size), block_(block) {
    const uint64_t block_rows =
        cols == 0 ? 0 : std::max<uint64_t>(1, kStreamPiece / std::max<uint64_t>(1, row_bytes_));
    block_.resize(block_rows * row_bytes_);
  }

  bool add(std::span<const std::byte> piece) {
    if (block_.empty()) return piece.empty();  // a matrix without elements
    while (!piece.empty()) {
      const size_t n = std::min(piece.size(), block_.size() - filled_);
      std::memcpy(block_.data() + filled_, piece.data(), n);
      filled_ += n;
      piece = piece.subspan(n);
      if (filled_ == block_.size() && !compare_block()) return false;
    }
    return true;
  }

  // Whether all of b came and matched.
  bool finish() { return block_.empty() || (compare_block() && next_column_ == cols_); }

 private:
  bool compare_block() {
    const uint64_t count = filled_ / row_bytes_;
    if (count * row_bytes_ != filled_ || count > cols_ - next_column_) return false;
    const bool same =
        block_is_transpose(a_.data(), rows_, cols_, size_, block_.data(), next_column_, count);
    next_column_ += count;
    filled_ = 0;
    return same;
  }

  std::span<const std::byte> a_;
  uint64_t rows_, cols_;
  size_t size_;
  uint64_t row_bytes_;
  std::vector<std::byte>& block_;
  size_t filled_ = 0;
  uint64_t next_column_ = 0;
};

// Whether the stream of b's bytes equals a, and whether a may hold a NaN or an infinity: looked
// for in the same pass, a cache-sized part at a time, so that a is read from memory once. In
// pieces whose mapped pages are dropped once compared: a table may be hundreds of MB.
class EqualityCheck {
 public:
  EqualityCheck(std::span<const std::byte> a, DType dtype) : a_(a), dtype_(dtype) {}
  bool add(std::span<const std::byte> piece) {
    if (piece.size() > a_.size() - done_) return false;
    const auto a_piece = a_.subspan(done_, piece.size());
    constexpr size_t kCached = 256 << 10;
    for (size_t at = 0; at < piece.size(); at += kCached) {
      const size_t n = std::min(kCached, piece.size() - at);
      if (std::memcmp(a_piece.data() + at, piece.data() + at, n) != 0) return false;
      if (!a_may_be_non_finite_)
        a_may_be_non_finite_ = may_hold_non_finite(dtype_, a_piece.subspan(at, n));
    }
    release_consumed(a_piece);
    done_ += piece.size();
    return true;
  }
  bool finish() const { return done_ == a_.size(); }
  // After a finish() that returned true: whether every element of a is finite.
  bool a_finite() const { return !a_may_be_non_finite_; }

 private:
  std::span<const std::byte> a_;
  DType dtype_;
  size_t done_ = 0;
  bool a_may_be_non_finite_ = false;
};

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  if (a.size() != b.size()) return false;
  EqualityCheck check(a, DType::kU8);
  for (size_t done = 0; done < b.size(); done += kStreamPiece) {
    const auto piece = b.subspan(done, std::min(kStreamPiece, b.size() - done));
    if (!check.add(piece)) return false;
    release_consumed(piece);
  }
  return check.finish();
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

// One parameter of one layer on both sides; false when it differs or cannot be compared. A's
// tensor is viewed whole (a transpose is compared in tiles across it), B's streamed
// (CheckpointReader::stream): in convert's verify B was just written around the page cache, and
// a stream reads it around the cache too.
bool same_parameter(Model& a, Model& b, Param param, int layer, IdenticalWeights& seen,
                    std::vector<std::byte>& block) {
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
  // Views and streams check what the forward pass checks: a floating dtype, and that copies
  // Keras stores of a tied weight agree.
  const TensorView va = a.weights->view(param, layer, ea.shape);
  bool same = false;
  if (transposed) {
    TransposeCheck check(va.bytes, sa[0], sa[1], dtype_size(ea.dtype), block);
    same = b.weights->stream(param, layer, eb.shape, [&](std::span<const std::byte> p) {
      return check.add(p);
    }) && check.finish();
  } else {
    EqualityCheck check(va.bytes, ea.dtype);
    same = b.weights->stream(param, layer, eb.shape, [&](std::span<const std::byte> p) {
      return check.add(p);
    }) && check.finish();
    if (same && check.a_finite()) {
      const size_t index = static_cast<size_t>(&ea - a.weights->reader().tensors().data());
      if (seen.finite_a.size() <= index) seen.finite_a.resize(index + 1);
      seen.finite_a[index] = true;
    }
  }
  a.weights->release(va);
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
  std::vector<std::byte> block;  // reused by every transposed comparison
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
          if (in_both ? !same_parameter(a, b, spec.param, index, seen, block)
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
