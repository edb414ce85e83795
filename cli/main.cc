// tensorferry: carries model weights between checkpoint formats without any framework installed.
#include <iostream>
#include <map>
#include <new>

#include "cli/commands.h"
#include "core/error.h"

namespace {

int run_main(int argc, char** argv) {
  using namespace tensorferry;
  CLI::App app{"tensorferry: move trained model weights between checkpoint formats"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tensorferry 0.1.0");
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ErrorKind::kUsage);
  }
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
