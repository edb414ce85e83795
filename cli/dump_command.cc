// `tensorferry dump PATH DIR`: every tensor's bytes as a raw file plus a manifest. A debugging
// aid, and how the interop tests compare what tensorferry reads with what the frameworks hold.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/choices.h"
#include "cli/commands.h"
#include "cli/help.h"
#include "cli/json_output.h"
#include "core/error.h"
#include "core/output.h"
#include "core/output_lock.h"
#include "core/output_space.h"
#include "formats/registry.h"

namespace tensorferry::cli {
namespace {

struct DumpArgs {
  std::string path;
  std::string out;
  std::string format;
  bool force = false;
  bool quiet = false;  // dump prints nothing on success anyway; accepted like everywhere
  bool allow_expansion = false;
};

int run_dump(const DumpArgs& args) {
  std::optional<Format> format;
  if (!args.format.empty()) format = parse_format(args.format, "--format");
  auto reader = open_checkpoint(args.path, format);
  const auto& entries = reader->tensors();
  const std::vector<TensorInfo> infos(entries.begin(), entries.end());
  check_output_space({args.out, estimate_output_bytes(infos), input_footprint(*reader),
                      reader->path(), args.allow_expansion});
  const OutputLock lock(args.out);
  AtomicOutput folder(args.out, AtomicOutput::Kind::kDirectory, args.force);
  nlohmann::json manifest = nlohmann::json::array();
  std::vector<std::byte> scratch;
  const auto& tensors = reader->tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const std::string file = std::to_string(i) + ".raw";
    OutputFile out((folder.staging_path() / file).string());
    out.write(reader->read(i, scratch));
    out.close();
    reader->release(i);
    manifest.push_back({{"name", t.name},
                        {"dtype", std::string(dtype_name(t.dtype))},
                        {"shape", t.shape},
                        {"role", std::string(role_name(t.role))},
                        {"file", file}});
  }
  OutputFile out((folder.staging_path() / "manifest.json").string());
  out.write(json_text(manifest, 1) + "\n");
  out.close();
  folder.commit();
  return 0;
}

}  // namespace

Run add_dump_command(CLI::App& app) {
  auto args = std::make_shared<DumpArgs>();
  auto* cmd = app.add_subcommand(
      "dump", "Write every tensor's bytes to DIR/<n>.raw with DIR/manifest.json (debugging)");
  cmd->add_option("path", args->path, "checkpoint")->required();
  cmd->add_option("out", args->out, "folder to create")->required();
  cmd->add_option("--format", args->format, "container format instead of detecting it");
  cmd->add_flag("--force", args->force, "replace an existing folder");
  cmd->add_flag("--allow-expansion", args->allow_expansion,
                "write more than 8 times the size of the input (views of one storage written out "
                "densely)");
  add_quiet_flag(*cmd, args->quiet);
  set_help_footer(*cmd,
                  {"tensorferry dump model.safetensors tensors/",
                   "tensorferry dump model.ckpt tensors/ --force"},
                  "");
  return [args] { return run_dump(*args); };
}

}  // namespace tensorferry::cli
