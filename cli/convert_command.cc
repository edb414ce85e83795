// `tensorferry convert IN OUT`: container-level conversion (names unchanged).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "convert/copy.h"
#include "core/error.h"

namespace tensorferry::cli {
namespace {
namespace fs = std::filesystem;

struct ConvertArgs {
  std::string input;
  std::string output;
  std::string format;
  std::string input_format;
  std::string shard_size;
  bool force = false;
  bool quiet = false;
};

int run_convert(const ConvertArgs& args) {
  std::optional<Format> input_format;
  if (!args.input_format.empty()) {
    input_format = format_from_name(args.input_format);
    if (!input_format) throw_usage("unknown input format \"" + args.input_format + "\"");
  }
  CopyOptions options;
  std::optional<Format> out_format;
  if (!args.format.empty()) {
    out_format = format_from_name(args.format);
    if (!out_format) throw_usage("unknown output format \"" + args.format + "\"");
  } else {
    out_format = format_from_extension(args.output);
  }
  const bool ends_with_slash = !args.output.empty() && args.output.back() == '/';
  options.output_is_folder = ends_with_slash || fs::is_directory(args.output) ||
                             !format_from_extension(args.output).has_value();
  if (!out_format)
    throw_usage("cannot tell the output format from \"" + args.output +
                "\"; give it an extension (.safetensors, .bin, .h5, .ckpt) or --format");
  options.output_format = *out_format;
  options.writer.force = args.force;
  if (!args.shard_size.empty()) options.writer.shard_size = parse_size(args.shard_size);

  auto reader = open_checkpoint(args.input, input_format);
  CopyReport report = copy_checkpoint(*reader, args.output, options);
  if (!args.quiet)
    std::cout << "wrote " << report.tensors << " tensors (" << human_bytes(report.bytes) << ") from "
              << reader->path() << " [" << reader->format() << "] to " << report.written << " ["
              << format_name(options.output_format) << "]\n";
  return 0;
}

}  // namespace

Run add_convert_command(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand("convert", "Convert a checkpoint to another format");
  cmd->add_option("input", args->input, "file, bundle prefix, shard index or model folder")
      ->required();
  cmd->add_option("output", args->output,
                  "output file (format from its extension) or folder (needs --format)")
      ->required();
  cmd->add_option("--format", args->format,
                  "output container: safetensors, pytorch, tf-bundle, keras-h5");
  cmd->add_option("--input-format", args->input_format, "input container instead of detecting it");
  cmd->add_option("--shard-size", args->shard_size, "split the output into shards of this size");
  cmd->add_flag("--force", args->force, "replace an existing output");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing on success");
  return [args] { return run_convert(*args); };
}

}  // namespace tensorferry::cli
