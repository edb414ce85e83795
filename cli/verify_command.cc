// `tensorferry verify A B`: reference forward passes on both checkpoints, compared stage by stage.
#include <iostream>

#include "cli/commands.h"
#include "cli/token_args.h"
#include "core/error.h"
#include "verify/report.h"

namespace tensorferry::cli {
namespace {

struct VerifyArgs {
  std::string a, b;
  std::string from_a, from_b;
  double max_error = verify::kDefaultMaxError;
  double max_rel_error = 0;
  std::vector<std::string> tokens, token_types;
  bool no_fixed_tokens = false;
  bool allow_missing_heads = false;
  bool json = false;
};

std::optional<verify::Convention> convention_arg(const std::string& text, const char* option) {
  if (text.empty()) return std::nullopt;
  auto c = verify::convention_from_name(text);
  if (!c)
    throw_usage(std::string(option) + ": unknown convention \"" + text +
                "\" (hf-pytorch, hf-tf2, openai-tf1, google-tf1)");
  return c;
}

int run_verify(const VerifyArgs& args) {
  verify::VerifyOptions options;
  options.max_error = args.max_error;
  options.max_rel_error = args.max_rel_error;
  options.convention_a = convention_arg(args.from_a, "--from-a");
  options.convention_b = convention_arg(args.from_b, "--from-b");
  options.sequences = parse_token_sequences(args.tokens, args.token_types);
  options.fixed_sequences = !args.no_fixed_tokens;
  options.allow_missing_heads = args.allow_missing_heads;
  const verify::VerifyReport report = verify::verify_checkpoints(args.a, args.b, options);
  if (args.json)
    std::cout << verify::verify_report_json(report).dump(2) << "\n";
  else
    std::cout << verify::format_verify_table(report);
  return report.passed ? 0 : static_cast<int>(ErrorKind::kVerifyFailed);
}

}  // namespace

Run add_verify_command(CLI::App& app) {
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify",
      "Run a reference forward pass (GPT-2, BERT) on two checkpoints, each in its own "
      "convention, and compare embeddings, every layer and every head; exit 1 on divergence");
  cmd->add_option("a", args->a, "reference checkpoint or model folder")->required();
  cmd->add_option("b", args->b, "checkpoint or model folder to check against A")->required();
  cmd->add_option("--max-error", args->max_error,
                  "absolute part of each stage's bound: max |A - B| <= max-error + "
                  "max-rel-error * max |A| (default 1e-5)");
  cmd->add_option("--max-rel-error", args->max_rel_error,
                  "relative part of each stage's bound, times the stage's largest |value| of A "
                  "(default 0; what convert --dtype allows is in docs/verify.md)");
  cmd->add_option("--from-a", args->from_a,
                  "convention of A instead of detecting it: hf-pytorch, hf-tf2, openai-tf1, "
                  "google-tf1");
  cmd->add_option("--from-b", args->from_b, "convention of B instead of detecting it");
  cmd->add_option("--tokens", args->tokens,
                  "an extra token sequence, e.g. 15496,11,995 (repeatable)");
  cmd->add_option("--token-types", args->token_types,
                  "BERT segment ids for the --tokens sequence in the same position");
  cmd->add_flag("--no-fixed-tokens", args->no_fixed_tokens,
                "run only the --tokens sequences, not the built-in ones");
  cmd->add_flag("--allow-missing-heads", args->allow_missing_heads,
                "do not fail when an output head is present on one side only");
  cmd->add_flag("--json", args->json, "machine-readable report");
  return [args] { return run_verify(*args); };
}

}  // namespace tensorferry::cli
