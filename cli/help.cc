#include "cli/help.h"

namespace tensorferry::cli {

void set_help_footer(CLI::App& cmd, const std::vector<std::string>& examples,
                     const std::string& verification_failed) {
  std::string text = "\nExamples:\n";
  for (const auto& e : examples) text += "  " + e + "\n";
  text += "\nExit codes: 0 ok";
  if (!verification_failed.empty()) text += ", 1 " + verification_failed;
  text += ", 2 usage, 3 bad input (malformed, hostile, truncated), 4 I/O";
  cmd.footer(text);
}

void add_quiet_flag(CLI::App& cmd, bool& quiet) {
  cmd.add_flag("-q,--quiet", quiet, "print nothing on success (errors still go to stderr)");
}

}  // namespace tensorferry::cli
