// `tensorferry inspect PATH`: what a checkpoint holds, from its headers alone.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/commands.h"
#include "core/error.h"
#include "formats/registry.h"
#include "formats/torch/torch.h"

namespace tensorferry::cli {
namespace {

struct InspectArgs {
  std::string path;
  std::string format;
  bool json = false;
  bool check = false;
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
  if (!args.format.empty()) {
    format = format_from_name(args.format);
    if (!format) throw_usage("unknown format \"" + args.format + "\"");
  }
  auto reader = open_checkpoint(args.path, format);
  std::optional<CheckSummary> checked;
  if (args.check) checked = check_checksums(*reader);
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
    std::cout << doc.dump(2) << "\n";
    return 0;
  }

  size_t name_width = 4;
  for (const auto& t : tensors) name_width = std::max(name_width, t.name.size());
  name_width = std::min<size_t>(name_width, 72);
  std::cout << pad("name", name_width) << "  " << pad("dtype", 9) << pad("shape", 22)
            << pad("size", 12) << "offset\n";
  for (const auto& t : tensors) {
    std::cout << pad(t.name, name_width) << "  " << pad(std::string(dtype_name(t.dtype)), 9)
              << pad(shape_to_string(t.shape), 22) << pad(human_bytes(t.nbytes), 12) << t.offset;
    if (many_files) std::cout << "  " << std::filesystem::path(t.file).filename().string();
    if (t.role != TensorRole::kWeight) std::cout << "  (" << role_name(t.role) << ")";
    if (!t.note.empty()) std::cout << "  " << t.note;
    std::cout << "\n";
  }
  std::cout << tensors.size() << " tensors, " << human_bytes(total) << " (" << total
            << " bytes), format " << reader->format() << ": " << reader->path() << "\n";
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
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->add_flag("--check", args->check,
                "also read every tensor and verify every checksum the file stores (zip CRC-32 of "
                "every torch record, CRC32C of every TF bundle tensor); exit 3 on a mismatch");
  return [args] { return run_inspect(*args); };
}

}  // namespace tensorferry::cli
