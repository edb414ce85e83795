// tensorferry: carries model weights between checkpoint formats without any framework installed.
#include <iostream>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "core/error.h"
#include "core/input_file.h"

namespace {

// CLI11 would call a mistyped command an unexpected argument; name it and say what was meant.
// The top-level app takes flags only, so the first word not starting with '-' is the command.
std::optional<std::string> unknown_command_message(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;  // the commands --help lists (not the hidden ones)
  bool known = false;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.starts_with("-")) continue;
    for (const auto* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == word;
      if (!sub->get_group().empty()) names.push_back(sub->get_name());
    }
    if (known) return std::nullopt;
    std::string message = "unknown command '" + word + "'";
    if (auto guess = tensorferry::cli::closest_word(word, names))
      return message + "; did you mean '" + *guess + "'?";
    return message + " (commands: " + tensorferry::cli::join_words(names) + "; tensorferry --help)";
  }
  return std::nullopt;
}

int run_main(int argc, char** argv) {
  using namespace tensorferry;
  CLI::App app{"tensorferry: move trained model weights between checkpoint formats"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tensorferry 0.1.0");
  // Accepted before or after the subcommand (fallthrough): it applies to every input read.
  bool follow_symlinks = false;
  app.add_flag("--follow-symlinks", follow_symlinks,
               "Read files found through a folder even when they are symbolic links to "
               "somewhere outside it (refused by default, exit 3)");
  app.fallthrough();
  std::map<CLI::App*, cli::Run> runs;
  auto add = [&](cli::Run (*adder)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    cli::Run run = adder(app);
    runs[app.get_subcommands({})[before]] = std::move(run);
  };
  add(cli::add_inspect_command);
  add(cli::add_convert_command);
  add(cli::add_dump_command);
  add(cli::add_verify_command);
  add(cli::add_diff_command);
  add(cli::add_forward_command);
  cli::set_help_footer(app,
                       {"tensorferry inspect model.safetensors",
                        "tensorferry convert pytorch_model.bin model.safetensors",
                        "tensorferry convert gpt2/ gpt2-openai/ --to openai-tf1",
                        "tensorferry verify gpt2/ gpt2-openai/", "tensorferry COMMAND --help"},
                       "verification failed (convert, verify) or the checkpoints differ (diff)");
  if (auto message = unknown_command_message(app, argc, argv)) {
    std::cerr << "tensorferry: " << *message << "\n";
    return static_cast<int>(ErrorKind::kUsage);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ErrorKind::kUsage);
  }
  set_follow_symlinks(follow_symlinks);
  try {
    for (auto& [sub, run] : runs)
      if (sub->parsed()) return run();
    return static_cast<int>(ErrorKind::kUsage);
  } catch (const Error& e) {
    std::cerr << "tensorferry: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << "tensorferry: out of memory\n";
    return static_cast<int>(ErrorKind::kIo);
  } catch (const std::exception& e) {
    std::cerr << "tensorferry: " << e.what() << "\n";
    return static_cast<int>(ErrorKind::kBadInput);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (...) {
    return 4;  // only reachable if even reporting an error failed
  }
}
