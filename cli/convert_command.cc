// `tensorferry convert IN OUT`: container-level conversion (names unchanged), or, with --to, a
// model conversion between naming conventions (hf-pytorch, hf-tf2, openai-tf1, google-tf1).
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/convert_verify.h"
#include "convert/convert_model.h"
#include "convert/copy.h"
#include "convert/report.h"
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
  bool verbose = false;
  // Model conversion.
  std::string to;
  std::string from;
  std::string dtype;
  std::string hf_class;
  bool dry_run = false;
  bool json = false;
  bool no_verify = false;
  std::optional<double> max_error, max_rel_error;
  bool keep_failed = false;
};

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

  // Verified before it is published: a result that fails is not left under DST's name.
  std::optional<ConversionVerifier> verifier;
  if (!args.no_verify && !args.dry_run)
    verifier.emplace(ConvertVerifySettings{args.input, args.output, options.from, args.max_error,
                                           args.max_rel_error, args.keep_failed, args.force});
  else if (args.keep_failed || args.max_error || args.max_rel_error)
    throw_usage(
        "--keep-failed, --max-error and --max-rel-error set how the result is verified; "
        "they do not go with --no-verify or --dry-run");
  PublishCheck check;
  if (verifier)
    check = [&](const Plan& plan, const fs::path& staging) {
      return verifier->check(plan, staging);
    };
  ModelConvertOutcome outcome =
      convert_model(args.input, args.output, options, args.dry_run, check);
  const ConvertResult* result = outcome.result ? &*outcome.result : nullptr;
  if (args.json) {
    std::cout << plan_to_json(outcome.plan, result).dump(2) << "\n";
  } else if (!args.quiet || args.dry_run) {
    std::cout << plan_to_text(outcome.plan, result, args.verbose);
  }
  if (!verifier) return 0;
  return verifier->print(args.json ? std::cerr : std::cout, std::cerr, args.quiet);
}

int run_convert(const ConvertArgs& args) {
  if (!args.to.empty()) return run_model_convert(args);
  if (!args.from.empty() || args.dry_run || args.json || !args.dtype.empty() ||
      !args.hf_class.empty())
    throw_usage("--from, --dry-run, --json, --dtype and --class need --to (a model conversion)");
  if (args.keep_failed || args.max_error || args.max_rel_error)
    throw_usage(
        "--keep-failed, --max-error and --max-rel-error need --to (only a model "
        "conversion is verified)");
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
  cmd->add_option("--max-error", args->max_error,
                  "verify: absolute part of each stage's bound (default 1e-5)");
  cmd->add_option("--max-rel-error", args->max_rel_error,
                  "verify: relative part of each stage's bound, times the stage's largest value "
                  "(default: 0, with --dtype 16 unit roundoffs of the narrower dtype)");
  cmd->add_flag("--keep-failed", args->keep_failed,
                "publish a result that fails its verify as OUT.verify-failed (default: nothing "
                "is published, an existing OUT stays as it was)");
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
