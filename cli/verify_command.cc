// `tensorferry verify A B`: reference forward passes on both checkpoints, compared stage by stage.
#include <iostream>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/json_output.h"
#include "cli/terminal_progress.h"
#include "cli/token_args.h"
#include "core/error.h"
#include "core/printable.h"
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
  bool always_forward = false;
  bool json = false;
  bool quiet = false;
};

int run_verify(const VerifyArgs& args) {
  verify::VerifyOptions options;
  options.max_error = args.max_error;
  options.max_rel_error = args.max_rel_error;
  options.convention_a = optional_verify_convention(args.from_a, "--from-a");
  options.convention_b = optional_verify_convention(args.from_b, "--from-b");
  options.sequences = parse_token_sequences(args.tokens, args.token_types);
  options.fixed_sequences = !args.no_fixed_tokens;
  options.allow_missing_heads = args.allow_missing_heads;
  options.always_forward = args.always_forward;
  auto progress = progress_for_stderr(args.quiet, args.json);
  options.progress = progress.get();
  const verify::VerifyReport report = verify::verify_checkpoints(args.a, args.b, options);
  if (progress) progress->done();
  if (args.json)
    print_json(verify::verify_report_json(report), "verify");
  else if (!args.quiet)
    std::cout << printable_lines(verify::format_verify_table(report));
  return report.passed ? 0 : static_cast<int>(ErrorKind::kVerifyFailed);
}

}  // namespace

Run add_verify_command(CLI::App& app) {
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify",
      "Run the reference forward pass of their model family on two checkpoints, each in its own "
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
  cmd->add_flag("--always-forward", args->always_forward,
                "run the forward passes even when both sides hold bit-identical weights and "
                "equal configs (then they are one computation and verify decides without them)");
  cmd->add_flag("--json", args->json,
                "machine-readable report (schema tensorferry.verify/1, "
                "docs/schemas/verify.schema.json)");
  add_quiet_flag(*cmd, args->quiet);
  set_help_footer(*cmd,
                  {"tensorferry verify gpt2/ gpt2-openai/",
                   "tensorferry verify bert/ bert-google/ --max-error 1e-4 --json",
                   "tensorferry verify gpt2/ gpt2-tf2/tf_model.h5 --tokens 15496,11,995"},
                  "a stage diverges (the report names the first)");
  return [args] { return run_verify(*args); };
}

}  // namespace tensorferry::cli
