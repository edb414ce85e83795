// The `tensorferry` command line (cli/app.h): the subcommands, their parser, and what a mistyped
// command or option is answered with.
#include "cli/app.h"

#include <iostream>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/json_output.h"
#include "cli/terminal_progress.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/printable.h"

namespace tensorferry::cli {
namespace {

// CLI11 would call a mistyped command an unexpected argument; name it and say what was meant.
// The top-level app takes flags only, so the first word not starting with '-' is the command.
std::optional<std::string> unknown_command_message(CLI::App& app,
                                                   const std::vector<std::string>& args) {
  std::vector<std::string> names;  // the commands --help lists (not the hidden ones)
  bool known = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word.starts_with("-")) continue;
    for (const auto* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == word;
      if (!sub->get_group().empty()) names.push_back(sub->get_name());
    }
    if (known) return std::nullopt;
    std::string message = "unknown command '" + word + "'";
    if (auto guess = closest_word(word, names)) return message + "; did you mean '" + *guess + "'?";
    return message + " (commands: " + join_words(names) + "; tensorferry --help)";
  }
  return std::nullopt;
}

}  // namespace

int run_command_line(const std::vector<std::string>& args, const Embedding* embedding) {
  CLI::App app{"tensorferry: move trained model weights between checkpoint formats"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tensorferry 0.1.0");
  // Accepted before or after the subcommand (fallthrough): it applies to every input read.
  bool follow_symlinks = false;
  app.add_flag("--follow-symlinks", follow_symlinks,
               "Read files found through a folder even when they are symbolic links to "
               "somewhere outside it (refused by default, exit 3)");
  app.fallthrough();
  std::map<CLI::App*, Run> runs;
  auto add = [&](Run (*adder)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    Run run = adder(app);
    runs[app.get_subcommands({})[before]] = std::move(run);
  };
  add(add_inspect_command);
  add(add_convert_command);
  add(add_dump_command);
  add(add_verify_command);
  add(add_diff_command);
  add(add_forward_command);
  set_help_footer(app,
                  {"tensorferry inspect model.safetensors",
                   "tensorferry convert pytorch_model.bin model.safetensors",
                   "tensorferry convert gpt2/ gpt2-openai/ --to openai-tf1",
                   "tensorferry verify gpt2/ gpt2-openai/", "tensorferry COMMAND --help"},
                  "verification failed (convert, verify) or the checkpoints differ (diff)");
  if (auto message = unknown_command_message(app, args)) {
    if (embedding) throw_usage(*message);
    std::cerr << "tensorferry: " << *message << "\n";
    return static_cast<int>(ErrorKind::kUsage);
  }
  try {
    std::vector<const char*> argv;
    argv.reserve(args.size());
    for (const auto& word : args) argv.push_back(word.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    if (embedding) throw_usage(e.what());
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ErrorKind::kUsage);
  }
  set_follow_symlinks(follow_symlinks);
  std::optional<JsonCapture> capture;
  std::optional<ProgressOverride> progress;
  if (embedding) {
    capture.emplace(embedding->json);
    progress.emplace(embedding->progress);
  }
  for (auto& [sub, run] : runs)
    if (sub->parsed()) return run();
  return static_cast<int>(ErrorKind::kUsage);
}

int run_main(const std::vector<std::string>& args) {
  try {
    return run_command_line(args);
  } catch (const Error& e) {
    std::cerr << "tensorferry: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << "tensorferry: out of memory\n";
    return static_cast<int>(ErrorKind::kIo);
  } catch (const std::exception& e) {
    // Not an Error (whose text is printable already): a parser's message may quote the file.
    std::cerr << "tensorferry: " << printable_lines(e.what()) << "\n";
    return static_cast<int>(ErrorKind::kBadInput);
  }
}

}  // namespace tensorferry::cli
