// The subcommands of the `tensorferry` tool. Each registers its options on the parser and returns
// the function that runs it; main() turns Errors into messages and exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace tensorferry::cli {

using Run = std::function<int()>;

Run add_inspect_command(CLI::App& app);
Run add_convert_command(CLI::App& app);
Run add_dump_command(CLI::App& app);
Run add_verify_command(CLI::App& app);
Run add_diff_command(CLI::App& app);
Run add_forward_command(CLI::App& app);  // hidden: debugging and tests

// "2GB", "500MiB", "1e9", "4096" -> bytes (decimal units for KB/MB/GB, binary for KiB/MiB/GiB).
uint64_t parse_size(const std::string& text);
// 1536 -> "1.5 KiB"
std::string human_bytes(uint64_t bytes);

}  // namespace tensorferry::cli
