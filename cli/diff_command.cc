// `tensorferry diff A B`: tensor by tensor, across formats and conventions.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/json_output.h"
#include "core/error.h"
#include "core/printable.h"
#include "verify/diff.h"
#include "verify/report.h"

namespace tensorferry::cli {
namespace {

struct DiffArgs {
  std::string a, b;
  std::string from_a, from_b;
  double atol = 0, rtol = 0;
  bool by_name = false;
  bool all = false;
  bool json = false;
  bool quiet = false;
};

std::string index_text(const std::vector<uint64_t>& index) {
  std::string out = "[";
  for (size_t i = 0; i < index.size(); ++i) out += (i ? ", " : "") + std::to_string(index[i]);
  return out + "]";
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

nlohmann::json index_json(const verify::TensorDiff& d, uint64_t flat_a) {
  return {{"flat", flat_a},
          {"a", verify::unflatten(flat_a, d.shape_a)},
          {"b", verify::unflatten(verify::index_in_b(d, flat_a), d.shape_b)}};
}

nlohmann::json report_json(const verify::DiffReport& r) {
  nlohmann::json doc = {{"a", r.path_a},          {"b", r.path_b},
                        {"format_a", r.format_a}, {"format_b", r.format_b},
                        {"matching", r.matching}, {"atol", r.atol},
                        {"rtol", r.rtol},         {"same", r.same}};
  auto& list = doc["tensors"] = nlohmann::json::array();
  std::map<std::string, int> counts;
  for (const auto& d : r.tensors) {
    counts[std::string(verify::diff_status_name(d.status))]++;
    nlohmann::json j = {{"status", std::string(verify::diff_status_name(d.status))},
                        {"failed", d.failed()},
                        {"name_a", d.name_a},
                        {"name_b", d.name_b},
                        {"role", std::string(role_name(d.role))}};
    if (!d.canonical.empty()) j["canonical"] = d.canonical;
    if (!d.name_a.empty()) {
      j["dtype_a"] = std::string(dtype_name(d.dtype_a));
      j["shape_a"] = d.shape_a;
    }
    if (!d.name_b.empty()) {
      j["dtype_b"] = std::string(dtype_name(d.dtype_b));
      j["shape_b"] = d.shape_b;
    }
    if (!d.name_a.empty() && !d.name_b.empty() && d.status != verify::DiffStatus::kShape &&
        d.status != verify::DiffStatus::kNotComparable) {
      j["transposed"] = d.transposed;
      j["bit_identical"] = d.status == verify::DiffStatus::kIdentical;
      j["elements"] = d.elements;
      j["differing"] = d.differing;
      j["mismatched"] = d.mismatched;
      verify::put_number(j, "max_abs", d.max_abs);
      verify::put_number(j, "max_rel", d.max_rel);
      if (d.max_abs_index) j["max_abs_index"] = index_json(d, *d.max_abs_index);
      if (d.first_mismatch) j["first_mismatch"] = index_json(d, *d.first_mismatch);
    }
    if (!d.note.empty()) j["note"] = d.note;
    list.push_back(std::move(j));
  }
  doc["counts"] = counts;
  return doc;
}

void print_table(const verify::DiffReport& r, bool all) {
  std::cout << "A: " << printable(r.path_a) << " [" << r.format_a << "]\nB: " << printable(r.path_b)
            << " [" << r.format_b << "]\nmatched by " << r.matching << "; atol " << r.atol
            << ", rtol " << r.rtol << "\n\n";
  // Names come from the files: shown escaped (core/printable.h), as are the details naming them.
  const auto shown_name = [](const verify::TensorDiff& d) {
    return printable(d.name_a.empty() ? d.name_b : d.name_a);
  };
  size_t width = 10;
  for (const auto& d : r.tensors)
    width = std::max(width, std::min<size_t>(64, shown_name(d).size() + 2));
  std::cout << pad("status", 12) << pad("tensor", width) << pad("max abs", 11) << pad("max rel", 11)
            << "details\n";
  std::map<std::string, int> counts;
  for (const auto& d : r.tensors) {
    counts[std::string(verify::diff_status_name(d.status))]++;
    if (!all && (d.status == verify::DiffStatus::kIdentical)) continue;
    const std::string name = shown_name(d);
    const bool compared = d.status == verify::DiffStatus::kWithinTolerance ||
                          d.status == verify::DiffStatus::kDifferent ||
                          d.status == verify::DiffStatus::kIdentical;
    std::cout << pad(std::string(verify::diff_status_name(d.status)), 12) << pad(name, width)
              << pad(compared ? verify::scientific(d.max_abs) : "-", 11)
              << pad(compared ? verify::scientific(d.max_rel) : "-", 11);
    std::string details;
    if (!d.name_a.empty() && !d.name_b.empty() && d.name_a != d.name_b)
      details += "B: " + d.name_b + "; ";
    if (!d.name_a.empty() && !d.name_b.empty() && d.dtype_a != d.dtype_b)
      details +=
          std::string(dtype_name(d.dtype_a)) + " vs " + std::string(dtype_name(d.dtype_b)) + "; ";
    if (d.transposed) details += "compared transposed; ";
    if (d.mismatched)
      details += std::to_string(d.mismatched) + " of " + std::to_string(d.elements) +
                 " elements outside tolerance, first at " +
                 index_text(verify::unflatten(*d.first_mismatch, d.shape_a)) + ", largest at " +
                 index_text(verify::unflatten(*d.max_abs_index, d.shape_a)) + "; ";
    else if (d.differing)
      details += std::to_string(d.differing) + " elements differ within tolerance; ";
    if (!d.note.empty()) details += d.note + "; ";
    if (d.name_a.empty() || d.name_b.empty())
      details += std::string(dtype_name(d.name_a.empty() ? d.dtype_b : d.dtype_a)) + " " +
                 shape_to_string(d.name_a.empty() ? d.shape_b : d.shape_a) + " (" +
                 std::string(role_name(d.role)) + "); ";
    if (details.size() >= 2) details.resize(details.size() - 2);
    std::cout << printable(details) << "\n";
  }
  std::cout << "\n" << r.tensors.size() << " entries:";
  for (const auto& [status, n] : counts) std::cout << " " << n << " " << status << ";";
  std::cout << (r.same ? " SAME" : " DIFFERENT") << "\n";
}

int run_diff(const DiffArgs& args) {
  verify::DiffOptions options;
  options.atol = args.atol;
  options.rtol = args.rtol;
  options.by_name = args.by_name;
  options.convention_a = optional_verify_convention(args.from_a, "--from-a");
  options.convention_b = optional_verify_convention(args.from_b, "--from-b");
  const verify::DiffReport report = verify::diff_checkpoints(args.a, args.b, options);
  if (args.json)
    print_json(report_json(report), "diff");
  else if (!args.quiet)
    print_table(report, args.all);
  return report.same ? 0 : static_cast<int>(ErrorKind::kVerifyFailed);
}

}  // namespace

Run add_diff_command(CLI::App& app) {
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = app.add_subcommand(
      "diff",
      "Compare two checkpoints tensor by tensor (across formats; across conventions when both "
      "are checkpoints of a model family tensorferry recognises); exit 1 when they differ");
  cmd->add_option("a", args->a, "checkpoint or model folder")->required();
  cmd->add_option("b", args->b, "checkpoint or model folder")->required();
  cmd->add_option("--atol", args->atol, "absolute tolerance (default 0: any difference counts)");
  cmd->add_option("--rtol", args->rtol, "relative tolerance, |a-b| <= atol + rtol*|b|");
  cmd->add_option("--from-a", args->from_a, "convention of A instead of detecting it");
  cmd->add_option("--from-b", args->from_b, "convention of B instead of detecting it");
  cmd->add_flag("--by-name", args->by_name, "match stored names only, never through conventions");
  cmd->add_flag("--all", args->all, "list identical tensors too");
  cmd->add_flag(
      "--json", args->json,
      "machine-readable report (schema tensorferry.diff/1, docs/schemas/diff.schema.json)");
  add_quiet_flag(*cmd, args->quiet);
  set_help_footer(*cmd,
                  {"tensorferry diff pytorch_model.bin model.safetensors",
                   "tensorferry diff gpt2/ gpt2-openai/ --atol 1e-6 --json",
                   "tensorferry diff a.safetensors b.safetensors --by-name --all"},
                  "the checkpoints differ (beyond --atol / --rtol)");
  return [args] { return run_diff(*args); };
}

}  // namespace tensorferry::cli
