#include "verify/weights.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/release_touched.h"
#include "verify/numeric.h"

namespace tensorferry::verify {
namespace {

// Frees a scratch buffer that a large tensor grew (readers that cannot hand out a view of the
// file copy the whole tensor into it), so that it does not stay allocated for the rest of the
// pass; small ones are kept for reuse.
void drop_large(std::vector<std::byte>& scratch) {
  if (scratch.capacity() > kStreamPiece) std::vector<std::byte>().swap(scratch);
}

}  // namespace

ModelWeights::ModelWeights(std::unique_ptr<CheckpointReader> reader, const Family& family,
                           Convention convention)
    : reader_(std::move(reader)), family_(family), convention_(convention) {
  const auto& tensors = reader_->tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    index_of_[&tensors[i]] = i;
    if (auto key = normalize_name(family_, convention_, tensors[i].name))
      by_key_[*key].push_back(i);
  }
}

const ParamSpec& ModelWeights::spec(Param param) const {
  const ParamSpec* spec = find_param(family_, convention_, param);
  if (!spec)
    throw WeightProblem(std::string(convention_name(convention_)) + " has no such parameter");
  return *spec;
}

const std::vector<size_t>* ModelWeights::lookup(Param param, int layer, std::string* tried) const {
  const ParamSpec* spec = find_param(family_, convention_, param);
  if (!spec) return nullptr;
  for (const auto& name : spellings(spec->stored, layer)) {
    if (tried) *tried += (tried->empty() ? "" : " or ") + name;
    auto it = by_key_.find(name);
    if (it != by_key_.end()) return &it->second;
  }
  return nullptr;
}

bool ModelWeights::has(Param param, int layer) const {
  return lookup(param, layer, nullptr) != nullptr;
}

const TensorEntry& ModelWeights::entry(Param param, int layer) const {
  std::string tried;
  const auto* indices = lookup(param, layer, &tried);
  if (!indices) throw WeightProblem("missing tensor " + tried);
  return reader_->tensors()[indices->front()];
}

size_t ModelWeights::checked_index(Param param, int layer, const Shape& expected) {
  std::string tried;
  const auto* indices = lookup(param, layer, &tried);
  if (!indices) throw WeightProblem("missing tensor " + tried);
  const size_t index = indices->front();
  const TensorEntry& e = reader_->tensors()[index];
  read_log_.push_back(e.name);
  used_.insert(indices->begin(), indices->end());
  if (e.shape != expected)
    throw WeightProblem("tensor " + e.name + " has shape " + shape_to_string(e.shape) +
                        ", but as a " + std::string(use_description(spec(param).use)) +
                        " it must be " + shape_to_string(expected));
  if (!is_floating(e.dtype) || !converts_to_double(e.dtype))
    throw WeightProblem("tensor " + e.name + " has dtype " + std::string(dtype_name(e.dtype)) +
                        ", not a floating-point type the forward pass evaluates");
  for (size_t k = 1; k < indices->size(); ++k) {
    const size_t other = (*indices)[k];
    const TensorEntry& o = reader_->tensors()[other];
    // Each view stays valid until the next read with the same scratch buffer.
    const auto copy = reader_->read(other, duplicate_scratch_);
    const auto first = reader_->read(index, scratch_);
    bool same = o.dtype == e.dtype && o.shape == e.shape && copy.size() == first.size();
    // In pieces whose mapped pages are dropped once compared: the copies may be hundreds of MB.
    for (size_t done = 0; same && done < first.size(); done += kStreamPiece) {
      const size_t n = std::min(kStreamPiece, first.size() - done);
      same = std::memcmp(copy.data() + done, first.data() + done, n) == 0;
      release_consumed(copy.subspan(done, n));
      release_consumed(first.subspan(done, n));
    }
    if (!same)
      throw WeightProblem("tensor " + e.name + " is stored again as " + o.name +
                          " with different contents");
    reader_->release(other);
    drop_large(duplicate_scratch_);
  }
  return index;
}

namespace {
void check_byte_count(const TensorEntry& e, uint64_t count) {
  if (count != e.nbytes)
    throw Error(
        ErrorKind::kBadInput,
        "reader returned " + std::to_string(count) + " bytes, expected " + std::to_string(e.nbytes),
        e.file, e.name);
}
}  // namespace

TensorView ModelWeights::view(Param param, int layer, const Shape& expected) {
  const size_t index = checked_index(param, layer, expected);
  const TensorEntry& e = reader_->tensors()[index];
  const auto bytes = reader_->read(index, scratch_);
  check_byte_count(e, bytes.size());
  return {&e, bytes};
}

bool ModelWeights::stream(Param param, int layer, const Shape& expected,
                          const PieceConsumer& consume) {
  const size_t index = checked_index(param, layer, expected);
  const TensorEntry& e = reader_->tensors()[index];
  uint64_t count = 0;
  const bool whole = reader_->stream(
      index,
      [&](std::span<const std::byte> piece) {
        count += piece.size();
        return count <= e.nbytes && consume(piece);
      },
      scratch_);
  drop_large(scratch_);
  if (whole || count > e.nbytes) check_byte_count(e, count);
  return whole;
}

std::vector<double> ModelWeights::read(Param param, int layer, const Shape& expected) {
  TensorView v = view(param, layer, expected);
  const uint64_t n = num_elements(v.entry->shape).value_or(0);
  std::vector<double> out(n);
  to_double(v.entry->dtype, v.bytes, 0, n, out.data());
  release(v);
  return out;
}

void ModelWeights::release(const TensorView& view) {
  auto it = index_of_.find(view.entry);
  if (it != index_of_.end()) reader_->release(it->second);
  // The reader drops the whole pages inside the tensor; a small one (a bias) beside a large one
  // kept its 2 MiB folio mapped, ~100 MB over BERT-large's forward pass.
  release_touched(view.bytes);
  drop_large(scratch_);
}

std::vector<std::string> ModelWeights::take_read_log() {
  std::vector<std::string> log;
  log.swap(read_log_);
  return log;
}

void ModelWeights::forget_reads() {
  read_log_.clear();
  used_.clear();
}

std::vector<std::string> ModelWeights::unused_weights() const {
  std::vector<std::string> unused;
  const auto& tensors = reader_->tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (used_.count(i) || tensors[i].role != TensorRole::kWeight) continue;
    auto key = normalize_name(family_, convention_, tensors[i].name);
    if (key && is_known_extra(family_, convention_, *key)) continue;
    unused.push_back(tensors[i].name);
  }
  return unused;
}

void rows_to_double(const TensorView& view, uint64_t width, uint64_t first_row, uint64_t count,
                    double* out) {
  to_double(view.entry->dtype, view.bytes, first_row * width, count * width, out);
}

}  // namespace tensorferry::verify
