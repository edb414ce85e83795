// Stage-by-stage comparison of two forward passes.
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

#include "verify/verify.h"

namespace tensorferry::verify {

std::string_view status_name(StageStatus status) {
  switch (status) {
    case StageStatus::kOk: return "ok";
    case StageStatus::kExceeds: return "EXCEEDS";
    case StageStatus::kNotFinite: return "NOT FINITE";
    case StageStatus::kShape: return "SHAPE";
    case StageStatus::kProblem: return "CANNOT RUN";
    case StageStatus::kMissing: return "MISSING";
    case StageStatus::kNotReached: return "not reached";
    case StageStatus::kSkipped: return "skipped";
  }
  return "?";
}

namespace {

// What a report says about a stage whichever side it comes from.
StageReport report_for(const Stage& s) {
  StageReport r;
  r.name = s.name;
  r.layer = s.layer;
  r.head = s.head;
  r.rows = s.values.rows;
  r.cols = s.values.cols;
  return r;
}

// Where flat element `index` of a stage lies: sequence, token inside it, column.
void locate(const Stage& a, size_t index, StageReport& r) {
  const int64_t row = a.values.cols ? static_cast<int64_t>(index) / a.values.cols : 0;
  r.column = a.values.cols ? static_cast<int64_t>(index) % a.values.cols : 0;
  for (size_t s = 0; s + 1 < a.offsets.size(); ++s)
    if (row >= a.offsets[s] && row < a.offsets[s + 1]) {
      r.sequence = s;
      r.token = row - a.offsets[s];
    }
}

// A NaN or an infinity on either side fails the stage, even where both sides agree: the passes
// start from finite weights (verify checked them), so a non-finite value is an overflow or a
// broken weight, and NaN == NaN would otherwise hide every later difference.
void measure(const Stage& a, const Stage& b, const VerifyOptions& options, StageReport& r) {
  double sum = 0;
  size_t worst = 0, first_non_finite = 0;
  for (size_t i = 0; i < a.values.data.size(); ++i) {
    const double x = a.values.data[i];
    const double y = b.values.data[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      if (r.non_finite_a + r.non_finite_b == 0) first_non_finite = i;
      r.non_finite_a += !std::isfinite(x);
      r.non_finite_b += !std::isfinite(y);
      continue;
    }
    const double err = std::fabs(x - y);
    r.max_abs_value = std::max(r.max_abs_value, std::fabs(x));
    sum += err;
    if (err > r.max_abs_error) {
      r.max_abs_error = err;
      worst = i;
    }
  }
  const size_t n = a.values.data.size();
  r.mean_abs_error = n ? sum / static_cast<double>(n) : 0.0;
  r.bound = options.max_error + options.max_rel_error * r.max_abs_value;
  if (r.non_finite_a + r.non_finite_b > 0) {
    r.status = StageStatus::kNotFinite;
    r.max_abs_error = std::numeric_limits<double>::infinity();
    r.note = "NaN or infinite values: " + std::to_string(r.non_finite_a) + " in A, " +
             std::to_string(r.non_finite_b) + " in B";
    locate(a, first_non_finite, r);
    return;
  }
  r.status = r.max_abs_error > r.bound ? StageStatus::kExceeds : StageStatus::kOk;
  locate(a, worst, r);
}

}  // namespace

StageReport compare_stages(const Stage& sa, const Stage& sb, const VerifyOptions& options) {
  StageReport r = report_for(sa);
  r.tensors_a = sa.tensors;
  r.tensors_b = sb.tensors;
  if (!sa.problem.empty() || !sb.problem.empty()) {
    r.status = StageStatus::kProblem;
    if (!sa.problem.empty()) r.note = "A: " + sa.problem;
    if (!sb.problem.empty()) r.note += (r.note.empty() ? "" : "; ") + ("B: " + sb.problem);
  } else if (sa.values.rows != sb.values.rows || sa.values.cols != sb.values.cols) {
    r.status = StageStatus::kShape;
    r.note = "A gives " + std::to_string(sa.values.rows) + "×" + std::to_string(sa.values.cols) +
             " values, B " + std::to_string(sb.values.rows) + "×" + std::to_string(sb.values.cols);
  } else if (sa.values.data.size() != static_cast<size_t>(sa.values.rows * sa.values.cols) ||
             sb.values.data.size() != sa.values.data.size()) {
    // Values dropped before this comparison: a bug in verify, never a pass.
    throw std::logic_error("verify: stage " + sa.name + " compared without its values");
  } else {
    measure(sa, sb, options, r);
  }
  return r;
}

std::vector<StageReport> compare_forward(const ForwardResult& a, const ForwardResult& b,
                                         const VerifyOptions& options,
                                         const std::map<std::string, StageReport>* compared) {
  std::map<std::string, const Stage*> b_stages;
  for (const auto& s : b.stages) b_stages[s.name] = &s;
  // A side whose encoder hit a problem ends its list there: later stages were never computed.
  auto stopped = [](const ForwardResult& r) {
    for (const auto& s : r.stages)
      if (!s.problem.empty() && !s.head) return true;
    return false;
  };
  const bool a_cut = stopped(a);
  const bool b_cut = stopped(b);

  std::vector<StageReport> out;
  auto one_sided = [&](const Stage& s, bool in_a) {
    StageReport r = report_for(s);
    (in_a ? r.tensors_a : r.tensors_b) = s.tensors;
    const char* other = in_a ? "B" : "A";
    if (in_a ? b_cut : a_cut) {
      r.status = StageStatus::kNotReached;
      r.note = std::string(other) + " stopped at an earlier stage";
    } else if (s.head && options.allow_missing_heads) {
      r.status = StageStatus::kSkipped;
      r.note = std::string("head only in ") + (in_a ? "A" : "B");
    } else {
      r.status = StageStatus::kMissing;
      r.note = std::string(s.head ? "head" : "stage") + " missing in " + other;
    }
    if (!s.problem.empty()) {
      r.status = StageStatus::kProblem;
      r.note = std::string(in_a ? "A: " : "B: ") + s.problem;
    }
    out.push_back(std::move(r));
  };

  std::map<std::string, bool> seen;
  for (const auto& sa : a.stages) {
    auto it = b_stages.find(sa.name);
    if (it == b_stages.end()) {
      one_sided(sa, true);
      continue;
    }
    seen[sa.name] = true;
    const StageReport* done = nullptr;
    if (compared) {
      auto found = compared->find(sa.name);
      if (found != compared->end()) done = &found->second;
    }
    out.push_back(done ? *done : compare_stages(sa, *it->second, options));
  }
  for (const auto& sb : b.stages)
    if (!seen.count(sb.name)) one_sided(sb, false);
  return out;
}

}  // namespace tensorferry::verify
