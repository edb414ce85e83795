// A checkpoint's tensors looked up by a convention's parameter table and read as doubles.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "verify/convention.h"

namespace tensorferry::verify {

// Something about a checkpoint's tensors that stops its forward pass at one stage: a missing
// tensor, a shape or dtype the framework would not accept, two stored copies that disagree.
// verify reports it as the failure of that stage (a broken conversion), not as unreadable input.
class WeightProblem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A stored tensor's bytes, valid until the next read from the same ModelWeights.
struct TensorView {
  const TensorEntry* entry = nullptr;
  std::span<const std::byte> bytes;
};

class ModelWeights {
 public:
  ModelWeights(std::unique_ptr<CheckpointReader> reader, const Family& family,
               Convention convention);

  CheckpointReader& reader() { return *reader_; }
  const Family& family() const { return family_; }
  Convention convention() const { return convention_; }

  bool has(Param param, int layer) const;
  // The stored tensor of a parameter; WeightProblem when the checkpoint lacks it.
  const TensorEntry& entry(Param param, int layer) const;
  const ParamSpec& spec(Param param) const;

  // The tensor's bytes after checking that it has exactly `expected` shape and a floating dtype.
  // When the convention stores the tensor twice (Keras lists tied weights under both layers that
  // use them), the copies must be identical.
  TensorView view(Param param, int layer, const Shape& expected);
  // The same bytes, checked the same way, handed to `consume` in pieces
  // (CheckpointReader::stream): for a look at each byte once. Returns false when the consumer
  // stopped. The tensor is released.
  bool stream(Param param, int layer, const Shape& expected, const PieceConsumer& consume);
  // The whole tensor as doubles (see view()).
  std::vector<double> read(Param param, int layer, const Shape& expected);

  // Lets the reader drop the pages of a tensor the pass has finished with.
  void release(const TensorView& view);

  // Names of the tensors read since the last call (for reports: which tensors feed a stage).
  std::vector<std::string> take_read_log();
  // Forgets what has been read so far (the log and the used set), so that a forward pass after
  // a look at every tensor (identical_weights) reports only its own reads.
  void forget_reads();
  // Weight tensors no forward-pass parameter resolved to and that are not known buffers, aliases
  // or training state: often the sign of a misnamed tensor.
  std::vector<std::string> unused_weights() const;

 private:
  const std::vector<size_t>* lookup(Param param, int layer, std::string* tried) const;
  // The index of the tensor view() and stream() hand out, after their checks.
  size_t checked_index(Param param, int layer, const Shape& expected);

  std::unique_ptr<CheckpointReader> reader_;
  const Family& family_;
  Convention convention_;
  std::map<std::string, std::vector<size_t>> by_key_;  // normalised name -> tensor indices
  std::set<size_t> used_;
  std::vector<std::string> read_log_;
  std::map<const TensorEntry*, size_t> index_of_;
  std::vector<std::byte> scratch_;
  std::vector<std::byte> duplicate_scratch_;
};

// Converts rows [first_row, first_row + count) of a 2-D view whose rows have `width` elements.
void rows_to_double(const TensorView& view, uint64_t width, uint64_t first_row, uint64_t count,
                    double* out);

}  // namespace tensorferry::verify
