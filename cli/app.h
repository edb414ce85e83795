// The `tensorferry` command line as a function, so that the same command code serves the CLI's
// main() and the library (api/): a library call runs the very command a user would type, with
// `--json`, and gets back the document the command would print.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"

namespace tensorferry::cli {

// How a library caller runs a command instead of a person at a terminal.
struct Embedding {
  // Receives the `--json` document the command would print on stdout (nothing is printed).
  std::optional<nlohmann::json>* json = nullptr;
  // Hears the progress a terminal would draw as a bar; null: none is reported.
  ProgressSink* progress = nullptr;
};

// Runs `tensorferry ARGS...` (args[0] is the program name) and returns the exit code. A
// tensorferry::Error escapes to the caller (main() prints it); so does a mistyped command or
// option when `embedding` is given (as Error(kUsage)), where the CLI prints it and returns 2.
int run_command_line(const std::vector<std::string>& args, const Embedding* embedding = nullptr);

// The whole `tensorferry` program: run_command_line, with every error printed on stderr and turned
// into its exit code. main() and the Python package's `tensorferry` command run this.
int run_main(const std::vector<std::string>& args);

}  // namespace tensorferry::cli
