// `tensorferry diff A B`: tensor-by-tensor comparison of two checkpoints, across formats and,
// when both are recognised model conventions, across conventions (tensors are then matched by
// the parameter they hold and compared in one layout, transposing where the frameworks store a
// matrix the other way round). One tensor pair is in memory at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/tensor.h"
#include "verify/convention.h"

namespace tensorferry::verify {

struct DiffOptions {
  double atol = 0;  // element matches when |a − b| <= atol + rtol·|b|
  double rtol = 0;
  std::optional<Convention> convention_a;
  std::optional<Convention> convention_b;
  bool by_name = false;  // match stored names only, even for recognised conventions
};

enum class DiffStatus {
  kIdentical,        // same dtype, same bits (in the compared layout)
  kWithinTolerance,  // values differ by no more than atol/rtol allow (or only in bits, ±0)
  kDifferent,        // some element outside the tolerance
  kShape,            // shapes do not correspond
  kOnlyInA,
  kOnlyInB,
  kNotComparable,  // dtypes without a numeric comparison (string vs number, complex, fp8)
  kSkipped,        // a buffer or tied alias the convention carries besides its weights
};
std::string_view diff_status_name(DiffStatus status);

struct TensorDiff {
  std::string name_a, name_b;
  std::string canonical;  // HF PyTorch name when matched through conventions
  DiffStatus status = DiffStatus::kIdentical;
  DType dtype_a = DType::kF32, dtype_b = DType::kF32;
  Shape shape_a, shape_b;
  TensorRole role = TensorRole::kWeight;
  bool transposed = false;  // B compared transposed (PyTorch [out, in] vs TF [in, out])
  uint64_t elements = 0;
  uint64_t differing = 0;   // elements whose values (or bits, same dtype) differ at all
  uint64_t mismatched = 0;  // elements outside atol/rtol
  double max_abs = 0;
  double max_rel = 0;
  std::optional<uint64_t> first_mismatch;  // flat index in A's layout
  std::optional<uint64_t> max_abs_index;   // flat index in A's layout
  std::string note;
  bool failed() const {
    return status == DiffStatus::kDifferent || status == DiffStatus::kShape ||
           status == DiffStatus::kNotComparable ||
           ((status == DiffStatus::kOnlyInA || status == DiffStatus::kOnlyInB) &&
            role == TensorRole::kWeight);
  }
};

struct DiffReport {
  std::string path_a, path_b, format_a, format_b;
  std::string matching;  // "names", or "gpt2 hf-pytorch ↔ gpt2 openai-tf1"
  double atol = 0, rtol = 0;
  std::vector<TensorDiff> tensors;
  bool same = true;  // no tensor failed()
};

DiffReport diff_checkpoints(const std::string& path_a, const std::string& path_b,
                            const DiffOptions& options);
// The same on open readers (`path_*` only name them in messages).
DiffReport diff_readers(CheckpointReader& a, CheckpointReader& b, const DiffOptions& options);

// Flat index -> index per dimension of `shape`.
std::vector<uint64_t> unflatten(uint64_t flat, const Shape& shape);
// The B flat index compared with A flat index `flat_a` for a pair.
uint64_t index_in_b(const TensorDiff& d, uint64_t flat_a);

}  // namespace tensorferry::verify
