// What every subcommand's --help ends with, and the options every subcommand accepts.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace tensorferry::cli {

// Appends "Examples:" (one command line each) and the exit codes to `cmd`'s --help.
// `verification_failed` says what exit code 1 means for this command; empty when it never exits 1.
void set_help_footer(CLI::App& cmd, const std::vector<std::string>& examples,
                     const std::string& verification_failed);

// -q/--quiet: nothing on stdout when the command succeeds; errors still go to stderr.
void add_quiet_flag(CLI::App& cmd, bool& quiet);

}  // namespace tensorferry::cli
