// The library's convert, verify and diff (include/tensorferry/commands.h): each builds the
// command line a user would type, with --json, and runs it through the CLI's own command code
// (cli/app.h), so options, checks, messages and the report are the CLI's by construction.
#include "tensorferry/commands.h"

#include <charconv>
#include <iostream>
#include <new>

#include "cli/app.h"
#include "cli/json_output.h"
#include "core/error.h"

namespace tensorferry {
namespace {

// The shortest text that reads back as the same double.
std::string number_text(double value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

void add_option(std::vector<std::string>& args, const char* name, const std::string& value) {
  if (value.empty()) return;
  args.push_back(name);
  args.push_back(value);
}

void add_flag(std::vector<std::string>& args, const char* name, bool on) {
  if (on) args.push_back(name);
}

CommandReport run_embedded(const std::vector<std::string>& args, ProgressSink* progress) {
  std::optional<nlohmann::json> document;
  const cli::Embedding embedding{&document, progress};
  CommandReport report;
  report.exit_code = cli::run_command_line(args, &embedding);
  if (!document)  // every command given --json prints its document unless it throws
    throw Error(ErrorKind::kIo, "tensorferry " + args.at(1) + " produced no report");
  report.json = cli::json_text(*document);
  return report;
}

}  // namespace

CommandReport convert(const std::string& src, const std::string& dst,
                      const ConvertRequest& request) {
  std::vector<std::string> args = {"tensorferry", "convert", src, dst, "--json", "-q"};
  add_option(args, "--to", request.to);
  add_option(args, "--from", request.from);
  add_option(args, "--format", request.format);
  add_option(args, "--dtype", request.dtype);
  if (request.shard_size) add_option(args, "--shard-size", std::to_string(request.shard_size));
  add_flag(args, "--dry-run", request.dry_run);
  add_flag(args, "--no-verify", !request.verify && !request.to.empty());
  if (request.max_error) add_option(args, "--max-error", number_text(*request.max_error));
  if (request.max_rel_error)
    add_option(args, "--max-rel-error", number_text(*request.max_rel_error));
  add_flag(args, "--keep-failed", request.keep_failed);
  add_flag(args, "--force", request.force);
  add_flag(args, "--allow-expansion", request.allow_expansion);
  add_flag(args, "--dedupe-tied", request.dedupe_tied);
  return run_embedded(args, request.progress);
}

CommandReport verify_models(const std::string& a, const std::string& b,
                            const VerifyRequest& request) {
  std::vector<std::string> args = {"tensorferry", "verify", a, b, "--json", "-q"};
  add_option(args, "--max-error", number_text(request.max_error));
  add_option(args, "--max-rel-error", number_text(request.max_rel_error));
  add_option(args, "--from-a", request.from_a);
  add_option(args, "--from-b", request.from_b);
  add_flag(args, "--allow-missing-heads", request.allow_missing_heads);
  return run_embedded(args, request.progress);
}

CommandReport diff_checkpoints(const std::string& a, const std::string& b,
                               const DiffRequest& request) {
  std::vector<std::string> args = {"tensorferry", "diff", a, b, "--json", "-q"};
  add_option(args, "--atol", number_text(request.atol));
  add_option(args, "--rtol", number_text(request.rtol));
  add_option(args, "--from-a", request.from_a);
  add_option(args, "--from-b", request.from_b);
  return run_embedded(args, nullptr);
}

}  // namespace tensorferry
