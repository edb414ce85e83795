#include "verify/diff.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "core/error.h"
#include "core/training_state.h"
#include "formats/registry.h"
#include "verify/model.h"
#include "verify/numeric.h"

namespace tensorferry::verify {
namespace {

// How a side's stored tensor relates to the parameter's canonical (HF PyTorch) layout.
struct Side {
  size_t index = 0;
  Use use = Use::kVector;
  bool via_convention = false;
};

// Drops the leading 1 of OpenAI's [1, in, out] conv weights and TFConv1D's [1, n] biases: the
// frameworks reshape those away, so they hold the same elements in the same order.
Shape logical_shape(const Shape& stored, Use use, bool via_convention) {
  if (via_convention && (use == Use::kOpenAiConv1D || use == Use::kRowVector) &&
      stored.size() >= 2 && stored.front() == 1)
    return Shape(stored.begin() + 1, stored.end());
  return stored;
}

class PairComparer {
 public:
  PairComparer(const DiffOptions& options) : options_(options) {}

  void compare(std::span<const std::byte> a, std::span<const std::byte> b, TensorDiff& d,
               uint64_t rows, uint64_t cols) {
    d.elements = num_elements(d.shape_a).value_or(0);
    const bool same_dtype = d.dtype_a == d.dtype_b;
    if (!converts_to_double(d.dtype_a) || !converts_to_double(d.dtype_b)) {
      if (same_dtype && !d.transposed && a.size() == b.size()) {
        const bool equal = std::memcmp(a.data(), b.data(), a.size()) == 0;
        d.status = equal ? DiffStatus::kIdentical : DiffStatus::kDifferent;
        d.note = equal ? "" : "bytes differ (no numeric comparison for this dtype)";
        if (!equal) d.mismatched = d.differing = 1;
      } else {
        d.status = DiffStatus::kNotComparable;
        d.note = "no numeric comparison between " + std::string(dtype_name(d.dtype_a)) + " and " +
                 std::string(dtype_name(d.dtype_b));
      }
      return;
    }
    if (same_dtype && !d.transposed && a.size() == b.size() &&
        std::memcmp(a.data(), b.data(), a.size()) == 0) {
      d.status = DiffStatus::kIdentical;
      return;
    }
    const size_t size_a = dtype_size(d.dtype_a);
    const size_t size_b = dtype_size(d.dtype_b);
    if (!d.transposed) {
      constexpr uint64_t kChunk = 1 << 16;
      for (uint64_t first = 0; first < d.elements; first += kChunk) {
        const size_t n = static_cast<size_t>(std::min(kChunk, d.elements - first));
        va_.resize(n);
        vb_.resize(n);
        to_double(d.dtype_a, a, first, n, va_.data());
        to_double(d.dtype_b, b, first, n, vb_.data());
        for (size_t k = 0; k < n; ++k) {
          const bool bits_equal =
              same_dtype && std::memcmp(a.data() + (first + k) * size_a,
                                        b.data() + (first + k) * size_b, size_a) == 0;
          element(va_[k], vb_[k], bits_equal, same_dtype, first + k, d);
        }
      }
    } else {
      // A is [rows, cols]; B holds the transpose, [cols, rows]. Walk A in blocks of rows and
      // gather the matching block of B's columns, which is contiguous in each B row.
      constexpr uint64_t kRows = 64;
      for (uint64_t r0 = 0; r0 < rows; r0 += kRows) {
        const uint64_t nr = std::min(kRows, rows - r0);
        va_.resize(static_cast<size_t>(nr * cols));
        vb_.resize(static_cast<size_t>(nr * cols));
        to_double(d.dtype_a, a, r0 * cols, static_cast<size_t>(nr * cols), va_.data());
        for (uint64_t c = 0; c < cols; ++c)
          to_double(d.dtype_b, b, c * rows + r0, static_cast<size_t>(nr), vb_.data() + c * nr);
        for (uint64_t r = 0; r < nr; ++r)
          for (uint64_t c = 0; c < cols; ++c) {
            const uint64_t flat_a = (r0 + r) * cols + c;
            const uint64_t flat_b = c * rows + r0 + r;
            const bool bits_equal =
                same_dtype &&
                std::memcmp(a.data() + flat_a * size_a, b.data() + flat_b * size_b, size_a) == 0;
            element(va_[r * cols + c], vb_[c * nr + r], bits_equal, same_dtype, flat_a, d);
          }
      }
    }
    // Same dtype and no element with other bits: identical (also when compared transposed).
    if (d.mismatched)
      d.status = DiffStatus::kDifferent;
    else if (same_dtype && d.differing == 0)
      d.status = DiffStatus::kIdentical;
    else
      d.status = DiffStatus::kWithinTolerance;
  }

 private:
  void element(double x, double y, bool bits_equal, bool same_dtype, uint64_t flat, TensorDiff& d) {
    if (bits_equal) return;
    const bool both_nan = std::isnan(x) && std::isnan(y);
    const double err = both_nan ? 0.0 : std::fabs(x - y);
    const bool values_equal = both_nan || x == y;
    if (!values_equal || same_dtype) ++d.differing;
    if (values_equal) return;
    const double rel = y != 0 ? err / std::fabs(y) : std::numeric_limits<double>::infinity();
    const bool close = err <= options_.atol + options_.rtol * std::fabs(y);  // false for NaN
    const double shown = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
    if (!d.max_abs_index || shown > d.max_abs) {
      d.max_abs = shown;
      d.max_abs_index = flat;
    }
    d.max_rel =
        std::max(d.max_rel, std::isnan(rel) ? std::numeric_limits<double>::infinity() : rel);
    if (!close) {
      ++d.mismatched;
      if (!d.first_mismatch || flat < *d.first_mismatch) d.first_mismatch = flat;
    }
  }

  const DiffOptions& options_;
  std::vector<double> va_, vb_;
};

struct Keyed {
  std::map<std::string, std::vector<Side>> by_canonical;  // canonical -> tensors (first = primary)
  std::vector<size_t> by_name;                            // tensors matched by stored name
  std::vector<size_t> extras;                             // known buffers / aliases
};

Keyed key_tensors(const CheckpointReader& reader,
                  std::optional<std::pair<const Family*, Convention>> c) {
  Keyed k;
  const auto& tensors = reader.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (c) {
      if (auto key = normalize_name(*c->first, c->second, tensors[i].name)) {
        // Aliases first: "cls.predictions.decoder.bias" also spells the MLM bias, and a tied
        // lm_head is the token table again, not a parameter of its own.
        if (is_known_extra(*c->first, c->second, *key)) {
          k.extras.push_back(i);
          continue;
        }
        if (auto m = match_param(*c->first, c->second, *key)) {
          const std::string canonical = canonical_name(*c->first, m->param, std::max(m->layer, 0));
          k.by_canonical[canonical].push_back({i, m->spec->use, true});
          continue;
        }
      }
    }
    k.by_name.push_back(i);
  }
  return k;
}

std::optional<std::pair<const Family*, Convention>> try_detect(const CheckpointReader& reader,
                                                               const std::string& path,
                                                               std::optional<Convention> forced) {
  try {
    return detect_convention(reader.tensors(), path, forced);
  } catch (const Error& e) {
    if (forced) throw;  // asked for explicitly: say why it does not fit
    return std::nullopt;
  }
}

}  // namespace

std::string_view diff_status_name(DiffStatus status) {
  switch (status) {
    case DiffStatus::kIdentical: return "identical";
    case DiffStatus::kWithinTolerance: return "close";
    case DiffStatus::kDifferent: return "DIFFERENT";
    case DiffStatus::kShape: return "SHAPE";
    case DiffStatus::kOnlyInA: return "only in A";
    case DiffStatus::kOnlyInB: return "only in B";
    case DiffStatus::kNotComparable: return "NOT COMPARABLE";
    case DiffStatus::kSkipped: return "skipped";
  }
  return "?";
}

std::vector<uint64_t> unflatten(uint64_t flat, const Shape& shape) {
  std::vector<uint64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 0) return index;
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

uint64_t index_in_b(const TensorDiff& d, uint64_t flat_a) {
  if (!d.transposed || d.shape_a.size() < 2) return flat_a;
  const uint64_t cols = d.shape_a.back();
  const uint64_t rows = num_elements(d.shape_a).value_or(0) / std::max<uint64_t>(cols, 1);
  return (flat_a % cols) * rows + flat_a / cols;
}

DiffReport diff_checkpoints(const std::string& path_a, const std::string& path_b,
                            const DiffOptions& options) {
  auto reader_a = open_checkpoint(path_a);
  auto reader_b = open_checkpoint(path_b);
  return diff_readers(*reader_a, *reader_b, options);
}

DiffReport diff_readers(CheckpointReader& a, CheckpointReader& b, const DiffOptions& options) {
  if (!(options.atol >= 0) || !(options.rtol >= 0)) throw_usage("--atol and --rtol must be >= 0");
  DiffReport report;
  report.path_a = a.path();
  report.path_b = b.path();
  report.format_a = a.format();
  report.format_b = b.format();
  report.atol = options.atol;
  report.rtol = options.rtol;

  // Matching through conventions needs both sides recognised, and as the same family.
  std::optional<std::pair<const Family*, Convention>> ca, cb;
  if (!options.by_name) {
    auto da = try_detect(a, a.path(), options.convention_a);
    auto db = try_detect(b, b.path(), options.convention_b);
    if (da && db && da->first == db->first) {
      ca = da;
      cb = db;
    }
  }
  auto describe = [](const std::pair<const Family*, Convention>& c) {
    return std::string(c.first->name) + " " + std::string(convention_name(c.second));
  };
  report.matching = ca && cb ? describe(*ca) + " <-> " + describe(*cb) : std::string("names");
  const Keyed ka = key_tensors(a, ca);
  const Keyed kb = key_tensors(b, cb);
  const auto& ta = a.tensors();
  const auto& tb = b.tensors();

  PairComparer comparer(options);
  std::vector<std::byte> scratch_a, scratch_b;
  auto compare_pair = [&](const Side& sa, const Side& sb, const std::string& canonical) {
    const TensorEntry& ea = ta[sa.index];
    const TensorEntry& eb = tb[sb.index];
    TensorDiff d;
    d.name_a = ea.name;
    d.name_b = eb.name;
    d.canonical = canonical;
    d.dtype_a = ea.dtype;
    d.dtype_b = eb.dtype;
    d.shape_a = ea.shape;
    d.shape_b = eb.shape;
    d.role = ea.role;
    const Shape la = logical_shape(ea.shape, sa.use, sa.via_convention);
    const Shape lb = logical_shape(eb.shape, sb.use, sb.via_convention);
    d.transposed = sa.via_convention && sb.via_convention && is_matrix_use(sa.use) &&
                   is_matrix_use(sb.use) && stored_out_by_in(sa.use) != stored_out_by_in(sb.use);
    uint64_t rows = 0, cols = 0;
    bool shapes_fit = la == lb;
    if (d.transposed) {
      shapes_fit = la.size() == 2 && lb.size() == 2 && la[0] == lb[1] && la[1] == lb[0];
      rows = la.size() == 2 ? la[0] : 0;
      cols = la.size() == 2 ? la[1] : 0;
    }
    if (!shapes_fit) {
      d.status = DiffStatus::kShape;
      d.note = "shape " + shape_to_string(ea.shape) + " vs " + shape_to_string(eb.shape) +
               (d.transposed ? " (B is compared transposed)" : "");
    } else {
      const auto bytes_a = a.read(sa.index, scratch_a);
      const auto bytes_b = b.read(sb.index, scratch_b);
      if (bytes_a.size() != ea.nbytes || bytes_b.size() != eb.nbytes)
        throw Error(ErrorKind::kBadInput, "reader returned a wrong byte count",
                    bytes_a.size() != ea.nbytes ? ea.file : eb.file,
                    bytes_a.size() != ea.nbytes ? ea.name : eb.name);
      comparer.compare(bytes_a, bytes_b, d, rows, cols);
      a.release(sa.index);
      b.release(sb.index);
    }
    report.tensors.push_back(std::move(d));
  };
  auto one_sided = [&](const TensorEntry& e, bool in_b, DiffStatus status,
                       const std::string& canonical, const std::string& note) {
    TensorDiff d;
    (in_b ? d.name_b : d.name_a) = e.name;
    (in_b ? d.dtype_b : d.dtype_a) = e.dtype;
    (in_b ? d.shape_b : d.shape_a) = e.shape;
    d.canonical = canonical;
    d.role = e.role;
    d.status = status;
    d.note = note;
    // Training state on one side only is what convert skips: the same status and words.
    if (auto state = training_state_of(e, false)) {
      d.status = DiffStatus::kSkipped;
      d.note = describe_training_state(*state);
    }
    report.tensors.push_back(std::move(d));
  };

  // Parameters, in A's order.
  std::vector<std::pair<size_t, std::string>> a_order;
  for (const auto& [canonical, sides] : ka.by_canonical)
    a_order.emplace_back(sides.front().index, canonical);
  std::sort(a_order.begin(), a_order.end());
  for (const auto& [first_index, canonical] : a_order) {
    const auto& sides_a = ka.by_canonical.at(canonical);
    auto it = kb.by_canonical.find(canonical);
    if (it == kb.by_canonical.end()) {
      for (const auto& s : sides_a)
        one_sided(ta[s.index], false, DiffStatus::kOnlyInA, canonical, "");
      continue;
    }
    const auto& sides_b = it->second;
    for (const auto& s : sides_a) compare_pair(s, sides_b.front(), canonical);
    for (size_t j = 1; j < sides_b.size(); ++j)
      compare_pair(sides_a.front(), sides_b[j], canonical);
  }
  std::vector<std::pair<size_t, std::string>> b_only;
  for (const auto& [canonical, sides] : kb.by_canonical)
    if (!ka.by_canonical.count(canonical)) b_only.emplace_back(sides.front().index, canonical);
  std::sort(b_only.begin(), b_only.end());
  for (const auto& [first_index, canonical] : b_only)
    for (const auto& s : kb.by_canonical.at(canonical))
      one_sided(tb[s.index], true, DiffStatus::kOnlyInB, canonical, "");

  // Everything else by stored name; buffers and aliases of a recognised convention that the other
  // side lacks are skipped, not missing.
  std::map<std::string, size_t> b_names;
  for (size_t i : kb.by_name) b_names.emplace(tb[i].name, i);
  for (size_t i : kb.extras) b_names.emplace(tb[i].name, i);
  std::vector<bool> b_used(tb.size(), false);
  auto by_name = [&](size_t i, bool extra) {
    auto it = b_names.find(ta[i].name);
    if (it != b_names.end()) {
      b_used[it->second] = true;
      compare_pair({i, Use::kVector, false}, {it->second, Use::kVector, false}, "");
    } else if (extra) {
      one_sided(ta[i], false, DiffStatus::kSkipped, "",
                "not a weight of the convention: buffer, tied alias or training state");
    } else {
      one_sided(ta[i], false, DiffStatus::kOnlyInA, "", "");
    }
  };
  for (size_t i : ka.by_name) by_name(i, false);
  for (size_t i : ka.extras) by_name(i, true);
  for (size_t i : kb.by_name)
    if (!b_used[i]) one_sided(tb[i], true, DiffStatus::kOnlyInB, "", "");
  for (size_t i : kb.extras)
    if (!b_used[i])
      one_sided(tb[i], true, DiffStatus::kSkipped, "",
                "not a weight of the convention: buffer, tied alias or training state");

  for (const auto& d : report.tensors)
    if (d.failed()) report.same = false;
  return report;
}

}  // namespace tensorferry::verify
