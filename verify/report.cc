#include "verify/report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace tensorferry::verify {
namespace {

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string describe(const ModelSummary& m) {
  const std::string kv = m.kv_heads > 0 && m.kv_heads != m.heads
                             ? " (" + std::to_string(m.kv_heads) + " key/value)"
                             : "";
  return m.path + "  [" + m.family + " " + m.convention + (m.convention_forced ? " (given)" : "") +
         ", " + m.format + "; config " + m.config_file + ": " + std::to_string(m.layers) +
         " layers, width " + std::to_string(m.hidden) + ", " + std::to_string(m.heads) + " heads" +
         kv + ", " + m.norm + " eps " + scientific(m.layer_norm_eps) + ", " + m.activation +
         (m.rope.empty() ? "" : ", rope " + m.rope) + "]";
}

std::string join(const std::vector<std::string>& items, size_t limit) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", … (" + std::to_string(items.size()) + " in all)";
  return out;
}

// Stages whose values were compared (the table shows their figures).
bool compared(const StageReport& s) {
  return s.status == StageStatus::kOk || s.status == StageStatus::kExceeds ||
         (s.status == StageStatus::kNotFinite && s.rows > 0);
}

nlohmann::json summary_json(const ModelSummary& m) {
  return {{"path", m.path},
          {"checkpoint", m.checkpoint},
          {"format", m.format},
          {"family", m.family},
          {"convention", m.convention},
          {"convention_given", m.convention_forced},
          {"config_file", m.config_file},
          {"vocab_size", m.vocab_size},
          {"layers", m.layers},
          {"hidden", m.hidden},
          {"heads", m.heads},
          {"inner", m.inner},
          {"layer_norm_eps", m.layer_norm_eps},
          {"norm", m.norm},
          {"kv_heads", m.kv_heads},
          {"rope", m.rope},
          {"activation", m.activation},
          {"unused_weights", m.unused_weights}};
}

nlohmann::json sequences_json(const std::vector<TokenSequence>& sequences) {
  auto list = nlohmann::json::array();
  for (const auto& s : sequences) {
    nlohmann::json j = {{"tokens", s.tokens}};
    if (!s.token_types.empty()) j["token_types"] = s.token_types;
    list.push_back(std::move(j));
  }
  return list;
}

}  // namespace

const StageReport* closest_to_bound(const VerifyReport& r) {
  const StageReport* closest = nullptr;
  double share = -1;
  for (const auto& s : r.stages) {
    if (s.status != StageStatus::kOk) continue;
    const double used = s.bound > 0 ? s.max_abs_error / s.bound : s.max_abs_error;
    if (used >= share) {
      share = used;
      closest = &s;
    }
  }
  return closest;
}

std::string where(const StageReport& s) {
  // 0-based, as in the JSON report and the `sequences` list there.
  return "sequence " + std::to_string(s.sequence) + ", token " + std::to_string(s.token) +
         ", column " + std::to_string(s.column);
}

std::string bound_formula(const VerifyReport& r) {
  if (r.max_rel_error == 0) return scientific(r.max_error);
  return scientific(r.max_error) + " + " + scientific(r.max_rel_error) + " × max |A|";
}

std::string scientific(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

std::string describe_identical(const IdenticalWeights& same) {
  return "weights: " + std::to_string(same.tensors) + " tensors (" + std::to_string(same.values) +
         " values) bit-identical in canonical form" +
         (same.transposed ? ", " + std::to_string(same.transposed) + " of them stored transposed"
                          : "") +
         "; configs equal: the two forward passes are one computation";
}

nlohmann::json json_number(double value) {
  if (std::isfinite(value)) return value;
  return nullptr;
}

void put_number(nlohmann::json& object, const std::string& key, double value) {
  object[key] = json_number(value);
  if (!std::isfinite(value)) object["non_finite"][key] = scientific(value);
}

std::string format_verify_table(const VerifyReport& r) {
  std::ostringstream out;
  out << "A: " << describe(r.a) << "\n";
  out << "B: " << describe(r.b) << "\n";
  if (r.identical) {
    out << "\n" << describe_identical(*r.identical) << "\n";
    for (const auto& note : r.notes) out << "note: " << note << "\n";
    out << "OK: the forward passes were not run (--always-forward runs them)\n";
    return out.str();
  }
  out << r.sequences.size() << " token sequences (";
  for (size_t i = 0; i < r.sequences.size(); ++i)
    out << (i ? ", " : "") << r.sequences[i].tokens.size();
  out << " tokens), bound " << bound_formula(r) << "\n\n";
  size_t width = 18;
  for (const auto& s : r.stages) width = std::max(width, s.name.size() + 2);
  out << pad("stage", width) << pad("max abs error", 15) << pad("mean abs error", 16)
      << pad("max |A|", 11) << pad("bound", 11) << "status\n";
  for (const auto& s : r.stages) {
    const bool measured = compared(s);
    out << pad(s.name, width) << pad(measured ? scientific(s.max_abs_error) : "-", 15)
        << pad(measured ? scientific(s.mean_abs_error) : "-", 16)
        << pad(measured ? scientific(s.max_abs_value) : "-", 11)
        << pad(measured ? scientific(s.bound) : "-", 11) << status_name(s.status);
    if (!s.note.empty()) out << "  " << s.note;
    out << "\n";
  }
  out << "\n";
  for (const auto& note : r.notes) out << "note: " << note << "\n";
  if (r.passed) {
    const StageReport* closest = closest_to_bound(r);
    out << "OK: " << r.stages.size() << " stages agree within " << bound_formula(r);
    if (closest)
      out << " (largest error " << scientific(closest->max_abs_error)
          << (r.max_rel_error > 0 ? " of " + scientific(closest->bound) : "") << " at "
          << closest->name << ")";
    out << "\n";
  } else {
    const StageReport& f = r.stages[*r.first_failure];
    out << "FAILED: first divergence at \"" << f.name << "\"";
    if (f.layer >= 0) out << " (layer " << f.layer << ")";
    if (f.status == StageStatus::kExceeds)
      out << ": max abs error " << scientific(f.max_abs_error) << " > " << scientific(f.bound)
          << " at " << where(f);
    else if (f.status == StageStatus::kNotFinite && compared(f))
      out << ": " << f.note << ", the first at " << where(f);
    else
      out << ": " << status_name(f.status) << (f.note.empty() ? "" : " — " + f.note);
    out << "\n";
    if (!f.tensors_a.empty()) out << "  A tensors of this stage: " << join(f.tensors_a, 8) << "\n";
    if (!f.tensors_b.empty()) out << "  B tensors of this stage: " << join(f.tensors_b, 8) << "\n";
  }
  return out.str();
}

nlohmann::json verify_report_json(const VerifyReport& r) {
  nlohmann::json doc;
  doc["passed"] = r.passed;
  doc["max_error"] = r.max_error;
  doc["max_rel_error"] = r.max_rel_error;
  doc["a"] = summary_json(r.a);
  doc["b"] = summary_json(r.b);
  doc["sequences"] = sequences_json(r.sequences);
  auto& stages = doc["stages"] = nlohmann::json::array();
  for (const auto& s : r.stages) {
    nlohmann::json j = {{"name", s.name},
                        {"layer", s.layer},
                        {"head", s.head},
                        {"status", std::string(status_name(s.status))},
                        {"failed", is_failure(s.status)},
                        {"rows", s.rows},
                        {"cols", s.cols},
                        {"tensors_a", s.tensors_a},
                        {"tensors_b", s.tensors_b}};
    if (compared(s)) {
      put_number(j, "max_abs_error", s.max_abs_error);
      put_number(j, "mean_abs_error", s.mean_abs_error);
      put_number(j, "max_abs_value", s.max_abs_value);
      put_number(j, "bound", s.bound);
      j["worst"] = {{"sequence", s.sequence}, {"token", s.token}, {"column", s.column}};
    }
    if (s.status == StageStatus::kNotFinite)
      j["non_finite_values"] = {{"a", s.non_finite_a}, {"b", s.non_finite_b}};
    if (!s.note.empty()) j["note"] = s.note;
    stages.push_back(std::move(j));
  }
  if (r.first_failure) {
    const StageReport& f = r.stages[*r.first_failure];
    doc["first_failure"] = {
        {"stage", f.name}, {"layer", f.layer}, {"status", std::string(status_name(f.status))}};
    if (f.status == StageStatus::kExceeds) {
      put_number(doc["first_failure"], "max_abs_error", f.max_abs_error);
      put_number(doc["first_failure"], "bound", f.bound);
    }
    if (!f.note.empty()) doc["first_failure"]["note"] = f.note;
  } else {
    doc["first_failure"] = nullptr;
  }
  doc["proof"] = r.identical ? "identical-weights" : "forward";
  if (r.identical)
    doc["identical"] = {{"tensors", r.identical->tensors},
                        {"values", r.identical->values},
                        {"transposed", r.identical->transposed}};
  doc["notes"] = r.notes;
  doc["seconds"] = r.seconds;
  return doc;
}

nlohmann::json forward_json(const Model& model, const std::vector<TokenSequence>& sequences,
                            const ForwardResult& result) {
  nlohmann::json doc;
  doc["model"] = summary_json(summarize(model));
  doc["model"]["unused_weights"] = result.unused_weights;
  doc["sequences"] = sequences_json(sequences);
  auto& stages = doc["stages"] = nlohmann::json::array();
  for (const auto& s : result.stages) {
    nlohmann::json j = {
        {"name", s.name}, {"layer", s.layer}, {"head", s.head}, {"tensors", s.tensors}};
    if (!s.problem.empty()) {
      j["problem"] = s.problem;
    } else {
      // values[sequence][token][column]
      auto values = nlohmann::json::array();
      uint64_t non_finite = 0;  // values written as null
      for (size_t q = 0; q + 1 < s.offsets.size(); ++q) {
        auto rows = nlohmann::json::array();
        for (int64_t r = s.offsets[q]; r < s.offsets[q + 1]; ++r) {
          auto row = nlohmann::json::array();
          for (int64_t c = 0; c < s.values.cols; ++c) {
            const double value = s.values.row(r)[c];
            row.push_back(json_number(value));
            if (!std::isfinite(value)) ++non_finite;
          }
          rows.push_back(std::move(row));
        }
        values.push_back(std::move(rows));
      }
      j["values"] = std::move(values);
      j["non_finite_values"] = non_finite;
    }
    stages.push_back(std::move(j));
  }
  return doc;
}

}  // namespace tensorferry::verify
