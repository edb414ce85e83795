// `tensorferry convert IN OUT`: container-level conversion (names unchanged), or, with --to, a
// model conversion between naming conventions (hf-pytorch, hf-tf2, openai-tf1, google-tf1).
#include <filesystem>
#include <iostream>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/convert_verify.h"
#include "cli/help.h"
#include "cli/json_output.h"
#include "cli/terminal_progress.h"
#include "convert/convert_model.h"
#include "convert/copy.h"
#include "convert/gguf_export.h"
#include "convert/gguf_import.h"
#include "convert/report.h"
#include "core/error.h"
#include "core/printable.h"
#include "verify/report.h"
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
  bool allow_expansion = false;
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
  bool dedupe_tied = false;  // container copies
};

std::optional<DType> parse_dtype(const std::string& name) {
  if (name.empty()) return std::nullopt;
  auto d = dtype_from_name(name);
  if (!d || !(*d == DType::kF32 || *d == DType::kF16 || *d == DType::kBF16))
    throw_usage("--dtype: unknown dtype '" + name + "' (valid: f32, f16, bf16)");
  return d;
}

ModelConvertOptions model_options(const ConvertArgs& args) {
  ModelConvertOptions options;
  options.to = parse_convention(args.to, "--to");
  if (!args.from.empty()) options.from = parse_convention(args.from, "--from");
  options.dtype = parse_dtype(args.dtype);
  if (!args.format.empty()) {
    const Format f = parse_format(args.format, "--format");
    if ((f != Format::kSafetensors && f != Format::kPyTorch) ||
        options.to != Convention::kHfPyTorch)
      throw_usage("--format with --to selects the hf-pytorch container: safetensors or pytorch");
    options.hf_format = f;
  }
  if (!args.input_format.empty())
    throw_usage("--input-format is for container conversion; use --from");
  if (!args.shard_size.empty()) options.shard_size = parse_size(args.shard_size);
  options.force = args.force;
  options.allow_expansion = args.allow_expansion;
  options.hf_class = args.hf_class;
  options.verify = !args.no_verify;
  return options;
}

// A model conversion writes a folder; a new DST named like a checkpoint file ("x.h5") would
// surprise whoever looks for a file there, so the report says what it is. Asked before the run
// (afterwards the folder exists).
bool is_new_folder_named_like_a_file(const std::string& output) {
  std::error_code ec;
  return format_from_extension(output) && !fs::is_directory(output, ec);
}

void note_folder_named_like_a_file(const std::string& output, Plan& plan) {
  plan.notes.push_back(output + " is a folder, not a " + fs::path(output).extension().string() +
                       " file: a model conversion writes a folder (" + output + "/" +
                       plan.target_file +
                       " and its config); for a single file, convert the "
                       "checkpoint without --to");
}

nlohmann::json convert_json(const ModelConvertOutcome& outcome, const ConvertArgs& args,
                            const ConversionVerifier* verifier) {
  nlohmann::json doc = plan_to_json(outcome.plan, outcome.result ? &*outcome.result : nullptr);
  doc["kind"] = "model";
  if (verifier && verifier->report()) {
    doc["verify"] = verify::verify_report_json(*verifier->report());
    doc["verify"]["schema"] = schema_id("verify");
  } else {
    doc["verify"] = nullptr;
    doc["verify_skipped"] = args.dry_run     ? "dry run"
                            : args.no_verify ? "--no-verify"
                                             : "verify could not run";
  }
  return doc;
}

// --to gguf: one GGUF file for llama.cpp (convert/gguf_export.h).
int run_gguf_convert(const ConvertArgs& args) {
  if (!args.format.empty() || !args.shard_size.empty() || !args.hf_class.empty())
    throw_usage("--format, --shard-size and --class do not apply to --to gguf");
  GgufExportOptions options;
  if (!args.from.empty()) options.from = parse_convention(args.from, "--from");
  options.dtype = args.dtype;
  options.force = args.force;
  const GgufExport result = export_gguf(args.input, args.output, options, args.dry_run);
  if (!args.quiet || args.dry_run)
    std::cout << printable_lines(gguf_export_text(result, args.dry_run));
  return 0;
}

// A GGUF file into an hf-pytorch folder (convert/gguf_import.h).
int run_gguf_import(const ConvertArgs& args) {
  if (args.to != "hf-pytorch") throw_usage("a GGUF file converts to hf-pytorch (or --to gguf)");
  if (!args.format.empty() || !args.shard_size.empty() || !args.hf_class.empty() || args.dry_run)
    throw_usage("--format, --shard-size, --class and --dry-run do not apply to GGUF input");
  GgufImportOptions options;
  if (!args.dtype.empty()) {
    auto d = dtype_from_name(args.dtype);
    if (!d || !(*d == DType::kF32 || *d == DType::kF16 || *d == DType::kBF16))
      throw_usage("--dtype takes f32, f16 or bf16, not \"" + args.dtype + "\"");
    options.dtype = *d;
  }
  options.force = args.force;
  const GgufImportResult result = import_gguf(args.input, args.output, options);
  if (!args.quiet) std::cout << printable_lines(gguf_import_text(args.input, args.output, result));
  return 0;
}

int run_model_convert(const ConvertArgs& args) {
  if (args.to == "gguf") return run_gguf_convert(args);
  if (fs::is_regular_file(args.input) && is_gguf_file(args.input)) return run_gguf_import(args);
  const ModelConvertOptions options = model_options(args);
  auto progress = progress_for_stderr(args.quiet, args.json);
  // Verified before it is published: a result that fails is not left under DST's name.
  std::optional<ConversionVerifier> verifier;
  if (!args.no_verify && !args.dry_run)
    verifier.emplace(ConvertVerifySettings{args.input, args.output, options.from, args.max_error,
                                           args.max_rel_error, args.keep_failed, args.force,
                                           progress.get()});
  else if (args.keep_failed || args.max_error || args.max_rel_error)
    throw_usage(
        "--keep-failed, --max-error and --max-rel-error set how the result is verified; "
        "they do not go with --no-verify or --dry-run");
  PublishCheck check;
  if (verifier)
    check = [&](const Plan& plan, const fs::path& staging) {
      return verifier->check(plan, staging);
    };
  const bool named_like_a_file = is_new_folder_named_like_a_file(args.output);
  ModelConvertOutcome outcome =
      convert_model(args.input, args.output, options, args.dry_run, check, progress.get());
  if (progress) progress->done();
  if (named_like_a_file) note_folder_named_like_a_file(args.output, outcome.plan);
  const ConvertResult* result = outcome.result ? &*outcome.result : nullptr;
  if (args.json)
    print_json(convert_json(outcome, args, verifier ? &*verifier : nullptr), "convert");
  else if (!args.quiet || args.dry_run)
    std::cout << printable_lines(plan_to_text(outcome.plan, result, args.verbose));
  if (!verifier) return 0;
  // With --json the verdict is in the document; only a failure is also said on stderr.
  return verifier->print(std::cout, std::cerr, args.quiet || args.json);
}

// What a container copy cannot keep of the source's shared storage, and what it costs.
void print_shared_storage(const CopyPlan& plan, std::ostream& out) {
  uint64_t again = 0, saved = 0;
  size_t again_count = 0, saved_count = 0;
  for (const auto& s : plan.shared) {
    if (s.left_out) {
      saved += s.bytes;
      ++saved_count;
      out << "not written: " << printable(s.name) << ", the same storage as "
          << printable(s.shares_with) << " (--dedupe-tied; " << human_bytes(s.bytes) << " saved)\n";
      continue;
    }
    again += s.bytes;
    ++again_count;
    out << "note: " << printable(s.name) << " shares storage with " << printable(s.shares_with)
        << " in the source; " << format_name(plan.format) << " stores it again (+"
        << human_bytes(s.bytes)
        << (s.tie ? "; --dedupe-tied writes it once, as save_pretrained does" : "") << ")\n";
  }
  if (again_count > 1)
    out << "note: shared storage costs " << human_bytes(again) << " (" << again
        << " bytes) in all\n";
  if (saved_count > 1)
    out << "note: --dedupe-tied saved " << human_bytes(saved) << " (" << saved << " bytes)\n";
}

// Source tensors a container copy leaves out or cannot keep shared, with the reason.
void print_left_out(const CopyPlan& plan, std::ostream& out) {
  for (const auto& skipped : plan.skipped) out << "skipped " << printable(skipped) << "\n";
  print_shared_storage(plan, out);
}

// The container copy's --json document (kind "container", docs/json.md); `report` is null for a
// dry run.
nlohmann::json container_json(const CheckpointReader& reader, const CopyPlan& plan,
                              const CopyOptions& options, const CopyReport* report) {
  nlohmann::json doc = {
      {"kind", "container"},
      {"dry_run", report == nullptr},
      {"source", {{"checkpoint", reader.path()}, {"format", reader.format()}}},
      {"target",
       {{"output", plan.output},
        {"checkpoint", plan.checkpoint},
        {"format", std::string(format_name(plan.format))}}},
      {"dtype", options.dtype ? nlohmann::json(std::string(dtype_name(*options.dtype))) : nullptr},
      {"bytes", plan.bytes}};
  auto& tensors = doc["tensors"] = nlohmann::json::array();
  for (const auto& t : plan.targets)
    tensors.push_back({{"name", t.name},
                       {"dtype", std::string(dtype_name(t.dtype))},
                       {"shape", t.shape},
                       {"bytes", t.nbytes}});
  auto& skipped = doc["skipped"] = nlohmann::json::array();
  for (const auto& t : reader.tensors())
    if (auto why = copy_skips(t, plan.format))
      skipped.push_back({{"name", t.name}, {"reason", *why}});
  auto& shared = doc["shared"] = nlohmann::json::array();
  for (const auto& s : plan.shared)
    shared.push_back({{"name", s.name},
                      {"shares_with", s.shares_with},
                      {"bytes", s.bytes},
                      {"tie", s.tie},
                      {"left_out", s.left_out}});
  if (report)
    doc["written"] = {{"tensors", report->tensors},
                      {"bytes", report->bytes},
                      {"files", nlohmann::json::array({report->written})}};
  return doc;
}

int run_convert(const ConvertArgs& args) {
  if (!args.to.empty()) {
    if (args.dedupe_tied)
      throw_usage(
          "--dedupe-tied is for container copies; a model conversion never stores a tie twice");
    return run_model_convert(args);
  }
  if (!args.from.empty() || !args.hf_class.empty())
    throw_usage("--from and --class need --to (a model conversion)");
  if (args.keep_failed || args.max_error || args.max_rel_error)
    throw_usage(
        "--keep-failed, --max-error and --max-rel-error need --to (only a model "
        "conversion is verified)");
  std::optional<Format> input_format;
  if (!args.input_format.empty()) input_format = parse_format(args.input_format, "--input-format");
  CopyOptions options;
  std::optional<Format> out_format;
  if (!args.format.empty())
    out_format = parse_format(args.format, "--format");
  else
    out_format = format_from_extension(args.output);
  const bool ends_with_slash = !args.output.empty() && args.output.back() == '/';
  options.output_is_folder = ends_with_slash || fs::is_directory(args.output) ||
                             !format_from_extension(args.output).has_value();
  if (!out_format)
    throw_usage("cannot tell the output format from \"" + args.output +
                "\"; give it an extension (.safetensors, .bin, .h5, .ckpt) or --format");
  options.output_format = *out_format;
  options.writer.force = args.force;
  options.allow_expansion = args.allow_expansion;
  if (!args.shard_size.empty()) options.writer.shard_size = parse_size(args.shard_size);
  options.dtype = parse_dtype(args.dtype);
  options.dedupe_tied = args.dedupe_tied;

  auto reader = open_checkpoint(args.input, input_format);
  const CopyPlan plan = plan_copy(*reader, args.output, options);
  const std::string from = printable(reader->path()) + " [" + reader->format() + "]";
  const std::string to =
      printable(plan.output) + " [" + std::string(format_name(plan.format)) + "]";
  const std::string cast = options.dtype ? std::string(", floating tensors as ") +
                                               std::string(dtype_name(*options.dtype))
                                         : "";
  if (args.dry_run && args.json) {
    print_json(container_json(*reader, plan, options, nullptr), "convert");
    return 0;
  }
  if (args.dry_run) {
    std::cout << "plan: write " << plan.targets.size() << " tensors (" << human_bytes(plan.bytes)
              << cast << ") from " << from << " to " << to << "\n";
    print_left_out(plan, std::cout);
    return 0;
  }
  auto progress = progress_for_stderr(args.quiet, args.json);
  options.progress = progress.get();
  const CopyReport report = copy_checkpoint(*reader, plan, options);
  if (progress) progress->done();
  if (args.json)
    print_json(container_json(*reader, plan, options, &report), "convert");
  else if (!args.quiet) {
    std::cout << "wrote " << report.tensors << " tensors (" << human_bytes(report.bytes) << cast
              << ") from " << from << " to " << to << "\n";
    print_left_out(plan, std::cout);
  }
  return 0;
}

}  // namespace

Run add_convert_command(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  auto* cmd = app.add_subcommand(
      "convert",
      "Convert a checkpoint to another container (IN OUT [--format]) or a model folder to another "
      "naming convention (SRC DST --to hf-pytorch|hf-tf2|openai-tf1|google-tf1|gguf)");
  cmd->add_option("input", args->input, "file, bundle prefix, shard index or model folder")
      ->required();
  cmd->add_option("output", args->output,
                  "output file (format from its extension) or folder (needs --format)")
      ->required();
  cmd->add_option("--format", args->format,
                  "output container: safetensors, pytorch, tf-bundle, keras-h5 (with --to "
                  "hf-pytorch: safetensors (default) or pytorch)");
  cmd->add_option("--to", args->to,
                  "model conversion: target convention hf-pytorch, hf-tf2, openai-tf1, google-tf1, "
                  "gguf (one .gguf file for llama.cpp)");
  cmd->add_option("--from", args->from, "source convention instead of detecting it");
  cmd->add_option("--dtype", args->dtype,
                  "cast floating-point tensors to f32, f16 or bf16 (default: bit-exact); with --to "
                  "gguf also q8_0");
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
                "print the plan (for --to: every tensor, its rename and layout step) and refuse "
                "what the conversion would refuse, without writing anything");
  cmd->add_flag("--dedupe-tied", args->dedupe_tied,
                "container copies: write a tensor that shares its storage with an earlier one "
                "(a tied lm_head) once, as save_pretrained does");
  cmd->add_flag("--json", args->json,
                "print the plan / report (and with --to the verify result) as JSON (schema "
                "tensorferry.convert/1, docs/schemas/convert.schema.json)");
  cmd->add_option("--input-format", args->input_format, "input container instead of detecting it");
  cmd->add_option("--shard-size", args->shard_size, "split the output into shards of this size");
  cmd->add_flag("--force", args->force, "replace an existing output");
  cmd->add_flag("--allow-expansion", args->allow_expansion,
                "write an output more than 8 times the size of the input (views of one storage "
                "written out densely)");
  add_quiet_flag(*cmd, args->quiet);
  cmd->add_flag("-v,--verbose", args->verbose,
                "list every skipped training-state tensor (optimizer slots, counters)");
  set_help_footer(*cmd,
                  {"tensorferry convert pytorch_model.bin model.safetensors",
                   "tensorferry convert model.safetensors out --format pytorch --shard-size 2GB",
                   "tensorferry convert gpt2/ gpt2-openai/ --to openai-tf1",
                   "tensorferry convert bert/ bert-tf2/ --to hf-tf2 --dtype f16 --dry-run"},
                  "the converted model failed its verify (--to)");
  return [args] { return run_convert(*args); };
}

}  // namespace tensorferry::cli
