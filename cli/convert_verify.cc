#include "cli/convert_verify.h"

#include <charconv>
#include <cmath>
#include <iostream>

#include "core/error.h"
#include "core/printable.h"
#include "verify/report.h"

namespace tensorferry::cli {
namespace fs = std::filesystem;

namespace {

// The shortest text that reads back as the same double ("0.03125", "1e-05"): the printed
// command must reproduce the bound exactly.
std::string exact_number(double value) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

// A word for a POSIX shell: as is when it is plain, otherwise in single quotes.
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && word.find_first_not_of(
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_-./:=+,@%") == std::string::npos;
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The report names the staging folder verify read; it should name where the result is.
void rename_side_b(verify::ModelSummary& b, const std::string& staging, const std::string& shown) {
  for (std::string* path : {&b.path, &b.checkpoint, &b.config_file})
    if (path->rfind(staging, 0) == 0) *path = shown + path->substr(staging.size());
}

std::string describe_failure(const verify::VerifyReport& report) {
  if (!report.first_failure) return "no stage failed";
  const verify::StageReport& f = report.stages[*report.first_failure];
  switch (f.status) {
    case verify::StageStatus::kExceeds:
      return "the converted model diverges first at " + f.name + ": max abs error " +
             verify::scientific(f.max_abs_error) + " > bound " + verify::scientific(f.bound) +
             " (" + verify::where(f) + ")";
    case verify::StageStatus::kNotFinite:
      if (f.rows == 0) return f.name + " not finite: " + f.note;
      return f.name + ": " + f.note + " (the first at " + verify::where(f) + ")";
    default:
      return f.name + ": " + std::string(verify::status_name(f.status)) +
             (f.note.empty() ? "" : " (" + f.note + ")");
  }
}

}  // namespace

fs::path failed_output_path(const std::string& output) {
  std::string name = output;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  return fs::path(name + ".verify-failed");
}

double plan_max_rel_error(const Plan& plan) {
  double rel = 0;
  for (const auto& e : plan.entries)
    if (e.source) rel = std::max(rel, verify::cast_max_rel_error(e.source_dtype, e.target.dtype));
  return rel;
}

ConversionVerifier::ConversionVerifier(ConvertVerifySettings settings)
    : settings_(std::move(settings)) {
  for (auto [name, value] : {std::pair{"--max-error", settings_.max_error},
                             std::pair{"--max-rel-error", settings_.max_rel_error}})
    if (value && !(std::isfinite(*value) && *value >= 0))
      throw_usage(std::string(name) + " must be a finite number >= 0");
  const fs::path failed = failed_output_path(settings_.output);
  std::error_code ec;
  if (settings_.keep_failed && !settings_.force && fs::exists(fs::symlink_status(failed, ec)))
    throw Error(ErrorKind::kUsage,
                "--keep-failed would replace it after a failed verify; pass --force or remove it",
                failed.string());
}

std::optional<fs::path> ConversionVerifier::check(const Plan& plan, const fs::path& staging) {
  options_.max_error = settings_.max_error.value_or(verify::kDefaultMaxError);
  options_.max_rel_error = settings_.max_rel_error.value_or(plan_max_rel_error(plan));
  // The same name in verify's own convention tables (written independently of models/).
  if (settings_.from)
    options_.convention_a = verify::convention_from_name(convention_name(*settings_.from));
  // A Google ELECTRA checkpoint is the discriminator unless the plan converted its generator.
  options_.family_a = options_.family_b = std::string(plan.family->name());
  options_.allow_missing_heads = true;  // heads the target cannot hold are listed in the report
  options_.progress = settings_.progress;
  const std::optional<fs::path> if_failed =
      settings_.keep_failed ? std::optional(failed_output_path(settings_.output)) : std::nullopt;
  try {
    report_ = verify::verify_checkpoints(settings_.input, staging.string(), options_);
  } catch (const Error&) {
    error_ = std::current_exception();
    published_ = if_failed;
    return published_;
  }
  published_ = report_->passed ? std::optional(fs::path(settings_.output)) : if_failed;
  rename_side_b(report_->b, staging.string(), published_ ? published_->string() : settings_.output);
  return published_;
}

std::string ConversionVerifier::reproduce_command() const {
  const std::string b = published_ ? published_->string() : settings_.output;
  std::string command = "tensorferry verify " + shell_word(settings_.input) + " " + shell_word(b);
  if (settings_.from) command += " --from-a " + std::string(convention_name(*settings_.from));
  if (options_.max_error != verify::kDefaultMaxError)
    command += " --max-error " + exact_number(options_.max_error);
  if (options_.max_rel_error > 0)
    command += " --max-rel-error " + exact_number(options_.max_rel_error);
  bool skipped_head = false;
  if (report_)
    for (const auto& s : report_->stages) skipped_head |= s.status == verify::StageStatus::kSkipped;
  if (skipped_head) command += " --allow-missing-heads";
  return command;
}

int ConversionVerifier::print(std::ostream& out, std::ostream& err, bool quiet) const {
  const std::string failed_name = failed_output_path(settings_.output).string();
  if (error_) {
    err << "verify: cannot check the result, so it was "
        << (published_ ? "published as " + failed_name + ", not at " + settings_.output
                       : "not published at " + settings_.output + " (--keep-failed keeps it as " +
                             failed_name + "; --no-verify converts without the check)")
        << "\n";
    std::rethrow_exception(error_);
  }
  if (!report_) return 0;
  if (report_->passed && report_->identical) {
    if (quiet) return 0;
    out << "verify: ok, " << verify::describe_identical(*report_->identical)
        << "; every stage: " << reproduce_command() << " --always-forward\n";
    return 0;
  }
  if (report_->passed) {
    if (quiet) return 0;
    out << "verify: ok, " << report_->stages.size() << " stages agree within "
        << verify::bound_formula(*report_);
    if (const auto* closest = verify::closest_to_bound(*report_))
      out << " (largest error " << verify::scientific(closest->max_abs_error)
          << (options_.max_rel_error > 0 ? " of " + verify::scientific(closest->bound) : "")
          << " at " << closest->name << ")";
    out << "; every stage: " << reproduce_command() << "\n";
    return 0;
  }
  err << "verify: FAILED: " << printable(describe_failure(*report_)) << "\n";
  if (published_)
    err << "verify: the result was published as " << failed_name << ", not at " << settings_.output
        << "; every stage: " << reproduce_command() << "\n";
  else
    err << "verify: nothing was published at " << settings_.output
        << " (--keep-failed keeps the result as " << failed_name
        << " for `tensorferry verify`; --no-verify converts without the check)\n";
  return static_cast<int>(ErrorKind::kVerifyFailed);
}

}  // namespace tensorferry::cli
