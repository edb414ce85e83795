// `tensorferry forward PATH --tokens ...` (hidden, for debugging and tests): one reference
// forward pass with every stage's values.
#include <cmath>
#include <iostream>

#include "cli/commands.h"
#include "cli/token_args.h"
#include "core/error.h"
#include "verify/report.h"

namespace tensorferry::cli {
namespace {

struct ForwardArgs {
  std::string path;
  std::string from;
  std::vector<std::string> tokens, token_types;
  bool json = false;
};

int run_forward_command(const ForwardArgs& args) {
  std::optional<verify::Convention> convention;
  if (!args.from.empty()) {
    convention = verify::convention_from_name(args.from);
    if (!convention) throw_usage("--from: unknown convention \"" + args.from + "\"");
  }
  verify::Model model = verify::open_model(args.path, convention);
  auto sequences = parse_token_sequences(args.tokens, args.token_types);
  if (sequences.empty()) sequences = verify::default_sequences(model.config, model.config);
  const verify::ForwardResult result = verify::run_forward(model, sequences);
  if (args.json) {
    std::cout << verify::forward_json(model, sequences, result).dump() << "\n";
    return 0;
  }
  std::cout << verify::family_name(model.family) << " " << verify::convention_name(model.convention)
            << ": " << model.checkpoint << "\n";
  for (const auto& s : result.stages) {
    double largest = 0;
    for (double v : s.values.data) largest = std::max(largest, std::fabs(v));
    std::cout << "  " << s.name << ": ";
    if (!s.problem.empty())
      std::cout << "cannot run: " << s.problem << "\n";
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
  cmd->add_flag("--json", args->json, "every stage's values as JSON");
  return [args] { return run_forward_command(*args); };
}

}  // namespace tensorferry::cli
