// `tensorferry convert IN OUT`: container-level conversion (names unchanged), or, with --to, a
// model conversion between naming conventions (hf-pytorch, hf-tf2, openai-tf1, google-tf1).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "convert/convert_model.h"
#include "convert/copy.h"
#include "convert/report.h"
#include "core/error.h"
#include "verify/verify.h"

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
  bool verbose = false;
  // Model conversion.
  std::string to;
  std::string from;
  std::string dtype;
  std::string hf_class;
  bool dry_run = false;
  bool json = false;
  bool no_verify = false;
};

// The built-in proof after every model conversion: a reference forward pass on source and result.
// A cast to a narrower dtype cannot meet the fp32 bound, so it is checked against a bound that
// fits the cast and the figure is reported.
int verify_conversion(const ConvertArgs& args, const ModelConvertOptions& options) {
  verify::VerifyOptions verify_options;
  if (options.dtype == DType::kF16) verify_options.max_error = 1e-2;
  if (options.dtype == DType::kBF16) verify_options.max_error = 5e-2;
  verify_options.allow_missing_heads = true;  // heads the target cannot hold were reported above
  const verify::VerifyReport report =
      verify::verify_checkpoints(args.input, args.output, verify_options);
  std::ostream& out = args.json ? std::cerr : std::cout;
  double largest = 0;
  for (const auto& stage : report.stages) largest = std::max(largest, stage.max_abs_error);
  if (report.passed) {
    if (!args.quiet)
      out << "verify: ok, " << report.stages.size() << " stages agree within "
          << verify_options.max_error << " (largest error " << largest << ", "
          << report.seconds << " s); `tensorferry verify` shows every stage\n";
    return 0;
  }
  std::string where = "?";
  if (report.first_failure) where = report.stages[*report.first_failure].name;
  std::cerr << "verify: FAILED: the converted model diverges first at " << where
            << " (largest error " << largest << "); run `tensorferry verify "
            << args.input << " " << args.output << "` for the table\n";
  return static_cast<int>(ErrorKind::kVerifyFailed);
}

int run_model_convert(const ConvertArgs& args) {
  ModelConvertOptions options;
  auto to = convention_from_name(args.to);
  if (!to)
    throw_usage("unknown convention \"" + args.to +
                "\" (hf-pytorch, hf-tf2, openai-tf1, google-tf1)");
  options.to = *to;
  if (!args.from.empty()) {
    options.from = convention_from_name(args.from);
    if (!options.from) throw_usage("unknown convention \"" + args.from + "\"");
  }
  if (!args.dtype.empty()) {
    auto d = dtype_from_name(args.dtype);
    if (!d || !(*d == DType::kF32 || *d == DType::kF16 || *d == DType::kBF16))
      throw_usage("--dtype takes f32, f16 or bf16, not \"" + args.dtype + "\"");
    options.dtype = *d;
  }
  if (!args.format.empty()) {
    auto f = format_from_name(args.format);
    if (!f || (*f != Format::kSafetensors && *f != Format::kPyTorch) ||
        options.to != Convention::kHfPyTorch)
      throw_usage("--format with --to selects the hf-pytorch container: safetensors or pytorch");
    options.hf_format = *f;
  }
  if (!args.input_format.empty())
    throw_usage("--input-format is for container conversion; use --from");
  if (!args.shard_size.empty()) options.shard_size = parse_size(args.shard_size);
  options.force = args.force;
  options.hf_class = args.hf_class;

  ModelConvertOutcome outcome = convert_model(args.input, args.output, options, args.dry_run);
  const ConvertResult* result = outcome.result ? &*outcome.result : nullptr;
  if (args.json) {
    std::cout << plan_to_json(outcome.plan, result).dump(2) << "\n";
  } else if (!args.quiet || args.dry_run) {
    std::cout << plan_to_text(outcome.plan, result, args.verbose);
  }
  if (args.dry_run || args.no_verify) return 0;
  return verify_conversion(args, options);
}

int run_convert(const ConvertArgs& args) {
  if (!args.to.empty()) return run_model_convert(args);
  if (!args.from.empty() || args.dry_run || args.json || !args.dtype.empty() ||
      !args.hf_class.empty())
    throw_usage("--from, --dry-run, --json, --dtype and --class need --to (a model conversion)");
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
    std::cout << "wrote " << report.tensors << " tensors (" << human_bytes(report.bytes)
              << ") from " << reader->path() << " [" << reader->format() << "] to "
              << report.written << " [" << format_name(options.output_format) << "]\n";
  if (!args.quiet)
    for (const auto& skipped : report.skipped) std::cout << "skipped " << skipped << "\n";
  return 0;
}

}  // namespace

Run add_convert_command(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand(
      "convert",
      "Convert a checkpoint to another container (IN OUT [--format]) or a model folder to another "
      "naming convention (SRC DST --to hf-pytorch|hf-tf2|openai-tf1|google-tf1)");
  cmd->add_option("input", args->input, "file, bundle prefix, shard index or model folder")
      ->required();
  cmd->add_option("output", args->output,
                  "output file (format from its extension) or folder (needs --format)")
      ->required();
  cmd->add_option("--format", args->format,
                  "output container: safetensors, pytorch, tf-bundle, keras-h5 (with --to "
                  "hf-pytorch: safetensors (default) or pytorch)");
  cmd->add_option("--to", args->to,
                  "model conversion: target convention hf-pytorch, hf-tf2, openai-tf1, google-tf1");
  cmd->add_option("--from", args->from, "source convention instead of detecting it");
  cmd->add_option("--dtype", args->dtype,
                  "cast floating-point weights to f32, f16 or bf16 (default: bit-exact)");
  cmd->add_option("--class", args->hf_class,
                  "Hugging Face class to write (default: config.json architectures, else from "
                  "the heads present)");
  cmd->add_flag("--no-verify", args->no_verify,
                "skip the reference forward pass that checks a model conversion");
  cmd->add_flag("--dry-run", args->dry_run,
                "print the plan (every tensor, its rename and layout "
                "step) without writing");
  cmd->add_flag("--json", args->json, "print the plan / report as JSON");
  cmd->add_option("--input-format", args->input_format, "input container instead of detecting it");
  cmd->add_option("--shard-size", args->shard_size, "split the output into shards of this size");
  cmd->add_flag("--force", args->force, "replace an existing output");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing on success");
  cmd->add_flag("-v,--verbose", args->verbose,
                "list every skipped training-state tensor (optimizer slots, counters)");
  return [args] { return run_convert(*args); };
}

}  // namespace tensorferry::cli
