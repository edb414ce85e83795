// `tensorferry inspect PATH`: what a checkpoint holds, from its headers alone.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/json_output.h"
#include "core/error.h"
#include "core/printable.h"
#include "formats/gguf/gguf_reader.h"
#include "formats/gguf/gguf_text.h"
#include "formats/registry.h"
#include "formats/torch/torch.h"

namespace tensorferry::cli {
namespace {

struct InspectArgs {
  std::string path;
  std::string format;
  bool json = false;
  bool check = false;
  bool quiet = false;
};

// What `inspect --check` proved.
struct CheckSummary {
  uint64_t tensors_read = 0;
  uint64_t bytes_read = 0;
  uint64_t zip_entries = 0;     // torch zip records whose CRC-32 matched
  uint64_t bundle_tensors = 0;  // TF bundle tensors whose CRC32C matched
};

// Reads every tensor, which checks the checksums the readers check on read (TF bundle CRC32C per
// tensor, torch zip CRC-32 per storage, so a mismatch names the tensor), then, for torch zip files,
// the CRC-32 of every other record too. Safetensors, Keras HDF5 and legacy torch files store no
// checksums: their tensors are read and bounds-checked only.
CheckSummary check_checksums(CheckpointReader& reader) {
  CheckSummary summary;
  std::vector<std::byte> scratch;
  const auto& tensors = reader.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    summary.bytes_read += reader.read(i, scratch).size();
    reader.release(i);
    ++summary.tensors_read;
  }
  const std::string format = reader.format();
  if (format == "tf-bundle") summary.bundle_tensors = tensors.size();
  if (format == "pytorch") {
    std::set<std::string> files;
    for (const auto& t : tensors) files.insert(t.file);
    if (files.empty() && !reader.path().ends_with(".index.json")) files.insert(reader.path());
    for (const auto& file : files) summary.zip_entries += verify_torch_zip_checksums(file);
  }
  return summary;
}

std::string check_text(const CheckSummary& s) {
  std::string text = "check: read " + std::to_string(s.tensors_read) + " tensors (" +
                     std::to_string(s.bytes_read) + " bytes); ";
  if (s.zip_entries > 0) return text + std::to_string(s.zip_entries) + " zip CRC-32s match";
  if (s.bundle_tensors > 0) return text + std::to_string(s.bundle_tensors) + " CRC32Cs match";
  return text + "the format stores no checksums";
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

int run_inspect(const InspectArgs& args) {
  std::optional<Format> format;
  if (!args.format.empty()) format = parse_format(args.format, "--format");
  auto reader = open_checkpoint(args.path, format);
  std::optional<CheckSummary> checked;
  if (args.check) checked = check_checksums(*reader);
  if (args.quiet) return 0;
  const auto& tensors = reader->tensors();
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.nbytes;
  const bool many_files = [&] {
    for (const auto& t : tensors)
      if (t.file != tensors.front().file) return true;
    return false;
  }();

  if (args.json) {
    nlohmann::json doc;
    doc["path"] = reader->path();
    doc["format"] = reader->format();
    doc["tensor_count"] = tensors.size();
    doc["total_bytes"] = total;
    doc["metadata"] = reader->metadata();
    if (checked)
      doc["check"] = {{"tensors_read", checked->tensors_read},
                      {"bytes_read", checked->bytes_read},
                      {"zip_crc32_entries", checked->zip_entries},
                      {"bundle_crc32c_tensors", checked->bundle_tensors}};
    auto& list = doc["tensors"] = nlohmann::json::array();
    for (const auto& t : tensors) {
      nlohmann::json j = {{"name", t.name},
                          {"dtype", std::string(dtype_name(t.dtype))},
                          {"shape", t.shape},
                          {"nbytes", t.nbytes},
                          {"file", t.file},
                          {"offset", t.offset},
                          {"role", std::string(role_name(t.role))}};
      if (!t.note.empty()) j["note"] = t.note;
      list.push_back(std::move(j));
    }
    print_json(std::move(doc), "inspect");
    return 0;
  }

  // A GGUF file carries the model's hyperparameters and tokenizer as typed metadata: shown first,
  // as gguf-py's dump does, escaped (the file is untrusted input and this goes to a terminal).
  if (const auto* gguf = dynamic_cast<const GgufReader*>(reader.get()))
    std::cout << gguf_metadata_text(gguf->header()) << "\n";

  // Columns are as wide as their longest entry plus a space (at least the usual widths, so
  // small tables look alike); names past 72 characters overflow rather than widen every row.
  // Names and notes come from the file: shown escaped (core/printable.h), the columns as wide as
  // what is shown.
  std::vector<std::string> names;
  names.reserve(tensors.size());
  for (const auto& t : tensors) names.push_back(printable(t.name));
  size_t name_width = 4, dtype_width = 9, shape_width = 22, size_width = 12;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    name_width = std::max(name_width, names[i].size());
    dtype_width = std::max(dtype_width, dtype_name(t.dtype).size() + 1);
    shape_width = std::max(shape_width, shape_to_string(t.shape).size() + 1);
    size_width = std::max(size_width, human_bytes(t.nbytes).size() + 1);
  }
  name_width = std::min<size_t>(name_width, 72);
  std::cout << pad("name", name_width) << "  " << pad("dtype", dtype_width)
            << pad("shape", shape_width) << pad("size", size_width) << "offset\n";
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    std::cout << pad(names[i], name_width) << "  "
              << pad(std::string(dtype_name(t.dtype)), dtype_width)
              << pad(shape_to_string(t.shape), shape_width)
              << pad(human_bytes(t.nbytes), size_width) << t.offset;
    if (many_files)
      std::cout << "  " << printable(std::filesystem::path(t.file).filename().string());
    if (t.role != TensorRole::kWeight) std::cout << "  (" << role_name(t.role) << ")";
    if (!t.note.empty()) std::cout << "  " << printable(t.note);
    std::cout << "\n";
  }
  std::cout << tensors.size() << " tensors, " << human_bytes(total) << " (" << total
            << " bytes), format " << reader->format() << ": " << printable(reader->path()) << "\n";
  if (checked) std::cout << check_text(*checked) << "\n";
  return 0;
}

}  // namespace

Run add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect",
                                 "List the tensors of a checkpoint file or model folder "
                                 "(reads headers only, unless --check)");
  cmd->add_option("path", args->path, "file, bundle prefix, shard index or model folder")
      ->required();
  cmd->add_option("--format", args->format,
                  "container format instead of detecting it: safetensors, pytorch, tf-bundle, "
                  "keras-h5");
  cmd->add_flag("--json", args->json,
                "machine-readable output (schema tensorferry.inspect/1, "
                "docs/schemas/inspect.schema.json)");
  cmd->add_flag("--check", args->check,
                "also read every tensor and verify every checksum the file stores (zip CRC-32 of "
                "every torch record, CRC32C of every TF bundle tensor); exit 3 on a mismatch");
  add_quiet_flag(*cmd, args->quiet);
  set_help_footer(*cmd,
                  {"tensorferry inspect model.safetensors", "tensorferry inspect gpt2/ --json",
                   "tensorferry inspect model.ckpt --check -q   # exit code only"},
                  "");
  return [args] { return run_inspect(*args); };
}

}  // namespace tensorferry::cli
