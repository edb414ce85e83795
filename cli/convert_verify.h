// The verify step of `convert --to`: the reference forward pass on the source and on the written
// folder before it is published, with a bound that fits the cast (verify/bound.h), and what the
// result means for the output: published at DST when it passes; when it fails, published nowhere
// (DST keeps what it had), or with --keep-failed as DST.verify-failed.
#pragma once

#include <exception>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "convert/plan.h"
#include "verify/verify.h"

namespace tensorferry::cli {

struct ConvertVerifySettings {
  std::string input, output;
  std::optional<Convention> from;       // convert --from: A's convention for verify too
  std::optional<double> max_error;      // convert --max-error; default verify's 1e-5
  std::optional<double> max_rel_error;  // convert --max-rel-error; default from the plan's casts
  bool keep_failed = false;
  bool force = false;
  ProgressSink* progress = nullptr;  // hears of every stage, when given
};

// "DST.verify-failed": where --keep-failed publishes a result that failed its verify.
std::filesystem::path failed_output_path(const std::string& output);

class ConversionVerifier {
 public:
  // Refuses (kUsage) invalid bounds, and --keep-failed when DST.verify-failed exists without
  // --force, before anything is converted.
  explicit ConversionVerifier(ConvertVerifySettings settings);

  // The PublishCheck of convert_model: verifies the staging folder against the input and returns
  // where to publish it. Also when verify cannot run at all (an Error), nothing is published,
  // or with --keep-failed it goes to DST.verify-failed; the Error is then rethrown.
  std::optional<std::filesystem::path> check(const Plan& plan,
                                             const std::filesystem::path& staging);

  // The verdict (set once check() ran); its B paths name the published folder, not the staging.
  const std::optional<verify::VerifyReport>& report() const { return report_; }
  std::optional<std::filesystem::path> published() const { return published_; }

  // One line on success (unless quiet) or the failure and where the result went, with the
  // `tensorferry verify` command that reproduces the verdict. Returns the exit code (0 or 1).
  int print(std::ostream& out, std::ostream& err, bool quiet) const;

  // `tensorferry verify SRC DST [options]` with the bound and options convert used.
  std::string reproduce_command() const;

 private:
  ConvertVerifySettings settings_;
  verify::VerifyOptions options_;
  std::optional<verify::VerifyReport> report_;
  std::optional<std::filesystem::path> published_;
  std::exception_ptr error_;  // verify could not run (an Error), rethrown by print()
};

// The max_rel_error a plan's casts earn: the largest cast_max_rel_error over its tensors.
double plan_max_rel_error(const Plan& plan);

}  // namespace tensorferry::cli
