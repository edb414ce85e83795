// `tensorferry inspect PATH`: what a checkpoint holds, from its headers alone.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "formats/registry.h"

namespace tensorferry::cli {
namespace {

struct InspectArgs {
  std::string path;
  std::string format;
  bool json = false;
};

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
    auto& list = doc["tensors"] = nlohmann::json::array();
    for (const auto& t : tensors) {
      nlohmann::json j = {{"name", t.name},   {"dtype", std::string(dtype_name(t.dtype))},
                          {"shape", t.shape}, {"nbytes", t.nbytes},
                          {"file", t.file},   {"offset", t.offset},
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
  return 0;
}

}  // namespace

Run add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand("inspect", "List the tensors of a checkpoint file or model folder "
                                            "(reads headers only, never tensor data)");
  cmd->add_option("path", args->path, "file, bundle prefix, shard index or model folder")
      ->required();
  cmd->add_option("--format", args->format,
                  "container format instead of detecting it: safetensors, pytorch, tf-bundle, "
                  "keras-h5");
  cmd->add_flag("--json", args->json, "machine-readable output");
  return [args] { return run_inspect(*args); };
}

}  // namespace tensorferry::cli
