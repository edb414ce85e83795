// `tensorferry forward PATH --tokens ...` (hidden, for debugging and tests): one reference
// forward pass with every stage's values.
#include <cmath>
#include <iostream>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/json_output.h"
#include "cli/token_args.h"
#include "core/error.h"
#include "core/printable.h"
#include "verify/report.h"

namespace tensorferry::cli {
namespace {

struct ForwardArgs {
  std::string path;
  std::string from;
  std::vector<std::string> tokens, token_types;
  bool json = false;
  bool quiet = false;
};

int run_forward_command(const ForwardArgs& args) {
  verify::Model model =
      verify::open_model(args.path, optional_verify_convention(args.from, "--from"));
  auto sequences = parse_token_sequences(args.tokens, args.token_types);
  if (sequences.empty()) sequences = verify::default_sequences(model.config, model.config);
  const verify::ForwardResult result = verify::run_forward(model, sequences);
  if (args.json) {
    print_json(verify::forward_json(model, sequences, result), "forward", -1);
    return 0;
  }
  if (args.quiet) return 0;
  std::cout << model.family->name << " " << verify::convention_name(model.convention) << ": "
            << model.checkpoint << "\n";
  for (const auto& s : result.stages) {
    double largest = 0;
    for (double v : s.values.data) largest = std::max(largest, std::fabs(v));
    std::cout << "  " << s.name << ": ";
    if (!s.problem.empty())
      std::cout << "cannot run: " << printable(s.problem) << "\n";
    else
      std::cout << s.values.rows << "×" << s.values.cols << ", max |value| " << largest << "\n";
  }
  return 0;
}

}  // namespace

Run add_forward_command(CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  auto* cmd = app.add_subcommand("forward", "Reference forward pass of one checkpoint (debugging)");
  cmd->group("");  // hidden from --help: a debugging aid, not a user command
  cmd->add_option("path", args->path, "checkpoint or model folder")->required();
  cmd->add_option("--from", args->from, "convention instead of detecting it");
  cmd->add_option("--tokens", args->tokens, "token sequence, e.g. 1,2,3 (repeatable)");
  cmd->add_option("--token-types", args->token_types, "BERT segment ids for each --tokens");
  cmd->add_flag("--json", args->json,
                "every stage's values as JSON (schema tensorferry.forward/1, "
                "docs/schemas/forward.schema.json)");
  add_quiet_flag(*cmd, args->quiet);
  set_help_footer(*cmd, {"tensorferry forward gpt2/ --tokens 15496,11,995 --json"}, "");
  return [args] { return run_forward_command(*args); };
}

}  // namespace tensorferry::cli
