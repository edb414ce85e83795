#include "convert/report.h"

#include <filesystem>
#include <sstream>

namespace tensorferry {

namespace {

std::string describe_target(const Plan& plan) {
  std::string s = std::string(convention_name(plan.to)) + " (" + plan.target_file + ", " +
                  std::string(format_name(plan.target_format));
  if (is_hf(plan.to)) s += ", " + plan.hf_class;
  return s + ")";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

std::string plan_to_text(const Plan& plan, const ConvertResult* result, bool verbose) {
  std::ostringstream out;
  out << (result ? "converted " : "plan: ") << plan.family->name() << " "
      << convention_name(plan.source.convention) << " (" << plan.source.checkpoint << ", "
      << plan.source_format << ") -> " << describe_target(plan) << " at " << plan.output << "\n";
  out << "parts: " << join(plan.groups);
  if (plan.target_groups != plan.groups) out << "; written: " << join(plan.target_groups);
  out << "\n";
  if (!result) {
    out << "tensors (" << plan.entries.size() << "):\n";
    for (const auto& e : plan.entries) {
      out << "  ";
      if (e.source)
        out << e.source_name << " " << shape_to_string(e.source_shape) << " "
            << dtype_name(e.source_dtype);
      else
        out << "(none)";
      out << " -> " << e.target.name << " " << shape_to_string(e.target.shape) << " "
          << dtype_name(e.target.dtype) << "  " << step_name(e.step);
      if (e.step == Step::kTranspose) out << " [" << e.rows << ", " << e.cols << "]";
      if (e.target.dtype != e.source_dtype && e.step != Step::kConstant)
        out << " cast " << dtype_name(e.source_dtype) << "->" << dtype_name(e.target.dtype);
      if (!e.note.empty()) out << "  (" << e.note << ")";
      out << "\n";
    }
  } else {
    out << "wrote " << result->tensors << " tensors (" << result->bytes << " bytes)\n";
  }
  // Tied copies, buffers and unknown tensors one per line; training state (often most of a
  // training checkpoint) summed up by kind, listed with -v.
  std::vector<const SkippedTensor*> other;
  std::vector<TrainingState> states;
  for (const auto& s : plan.skipped)
    if (s.state)
      states.push_back(*s.state);
    else
      other.push_back(&s);
  if (!other.empty()) {
    out << "skipped (" << other.size() << "):\n";
    for (const auto* s : other) out << "  " << s->name << ": " << s->reason << "\n";
  }
  if (!states.empty()) {
    out << "training state not converted (" << states.size()
        << "): " << summarize_training_state(states) << (verbose ? ":" : "") << "\n";
    if (verbose)
      for (const auto& s : plan.skipped)
        if (s.state) out << "  " << s.name << ": " << s.reason << "\n";
  }
  out << "files: " << plan.config_name << " (from "
      << std::filesystem::path(plan.source.config_path).filename().string() << ")";
  for (const auto& f : plan.files) {
    const std::string from = std::filesystem::path(f.source).filename().string();
    out << ", " << f.target;
    if (std::filesystem::path(f.target).filename() != from) out << " (copy of " << from << ")";
  }
  for (const auto& g : plan.generated) out << ", " << g.name << " (from " << g.from << ")";
  if (plan.target_format == Format::kTfBundle)
    out << ", checkpoint, " << plan.target_file << ".meta";
  out << "\n";
  for (const auto& left : plan.left_behind)
    out << "note: " << left.name << " not carried over: " << left.reason << "\n";
  for (const auto& n : plan.notes) out << "note: " << n << "\n";
  return out.str();
}

nlohmann::json plan_to_json(const Plan& plan, const ConvertResult* result) {
  nlohmann::json doc;
  doc["family"] = std::string(plan.family->name());
  doc["dry_run"] = result == nullptr;
  doc["source"] = {{"convention", std::string(convention_name(plan.source.convention))},
                   {"folder", plan.source.folder},
                   {"checkpoint", plan.source.checkpoint},
                   {"format", plan.source_format},
                   {"config", plan.source.config_path}};
  doc["target"] = {{"convention", std::string(convention_name(plan.to))},
                   {"folder", plan.output},
                   {"checkpoint", plan.target_file},
                   {"format", std::string(format_name(plan.target_format))},
                   {"config", plan.config_name}};
  if (!plan.hf_class.empty()) doc["hf_class"] = plan.hf_class;
  doc["parts"] = plan.groups;
  doc["written_parts"] = plan.target_groups;
  auto& tensors = doc["tensors"] = nlohmann::json::array();
  for (const auto& e : plan.entries) {
    nlohmann::json j = {{"target", e.target.name},
                        {"target_shape", e.target.shape},
                        {"target_dtype", std::string(dtype_name(e.target.dtype))},
                        {"step", std::string(step_name(e.step))},
                        {"canonical", e.canonical},
                        {"group", e.group}};
    if (e.source) {
      j["source"] = e.source_name;
      j["source_shape"] = e.source_shape;
      j["source_dtype"] = std::string(dtype_name(e.source_dtype));
    } else {
      j["source"] = nullptr;
    }
    if (e.step == Step::kTranspose) j["matrix"] = {e.rows, e.cols};
    if (!e.note.empty()) j["note"] = e.note;
    tensors.push_back(std::move(j));
  }
  auto& skipped = doc["skipped"] = nlohmann::json::array();
  for (const auto& s : plan.skipped) skipped.push_back({{"name", s.name}, {"reason", s.reason}});
  auto& ties = doc["tied"] = nlohmann::json::array();
  for (const auto& t : plan.ties) ties.push_back({{"alias", t.alias_name}, {"of", t.origin_name}});
  auto& files = doc["files"] = nlohmann::json::array();
  files.push_back(
      {{"target", plan.config_name}, {"from", plan.source.config_path}, {"how", "converted"}});
  for (const auto& f : plan.files)
    files.push_back({{"target", f.target}, {"from", f.source}, {"how", "copied"}});
  for (const auto& g : plan.generated)
    files.push_back({{"target", g.name}, {"from", g.from}, {"how", "generated"}});
  auto& left = doc["not_carried"] = nlohmann::json::array();
  for (const auto& l : plan.left_behind) left.push_back({{"name", l.name}, {"reason", l.reason}});
  doc["notes"] = plan.notes;
  if (result) {
    doc["written"] = {
        {"tensors", result->tensors}, {"bytes", result->bytes}, {"files", result->files}};
  }
  return doc;
}

}  // namespace tensorferry
