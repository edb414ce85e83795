#include "convert/folder_files.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <set>

#include "convert/carried_file.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/json_input.h"
#include "core/limits.h"
#include "core/output.h"
#include "formats/tf_bundle/bundle_files.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {

// Files of Hugging Face folders that the hub and sentence-transformers read beside a
// transformers model; carried between the HF conventions (the family table handles vocabularies
// and tokenizer files).
constexpr std::array<std::string_view, 5> kHfEcosystemFiles = {
    "README.md", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
    "generation_config.json"};

// File names of checkpoints in the containers tensorferry or other tools write.
constexpr std::array<std::string_view, 12> kWeightSuffixes = {
    ".safetensors", ".bin",  ".pt",   ".pth",    ".h5",         ".msgpack",
    ".ot",          ".onnx", ".gguf", ".tflite", ".index.json", ".keras"};

fs::path normal(const fs::path& p) { return fs::absolute(p).lexically_normal(); }

bool ends_with_any(std::string_view name, std::span<const std::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](std::string_view s) { return name.ends_with(s); });
}

// PREFIX of PREFIX.index or PREFIX.data-NNNNN-of-MMMMM; nullopt for other names.
std::optional<std::string> tf_bundle_prefix(const std::string& name) {
  if (name.size() > 6 && name.ends_with(".index")) return name.substr(0, name.size() - 6);
  return tf_bundle::prefix_of_data_file(name);
}

// The module folders a sentence-transformers modules.json names ("1_Pooling", "2_Normalize");
// the module at "" is the transformers model of the folder itself.
std::set<std::string> sentence_transformers_modules(const fs::path& folder) {
  std::set<std::string> modules;
  const auto path = find_in_folder(folder.string(), "modules.json");
  if (!path) return modules;
  const nlohmann::json list =
      parse_json_input(read_input_text(*path, kMaxCarriedFileBytes, "modules.json"), *path);
  if (!list.is_array()) return modules;
  for (const auto& module : list) {
    if (!module.is_object() || !module.contains("path") || !module["path"].is_string()) continue;
    const fs::path path = module["path"].get<std::string>();
    // Only a plain folder of this folder: anything else is not ours to copy.
    if (path.empty() || path.has_parent_path() || path.is_absolute() || path == "." || path == "..")
      continue;
    modules.insert(path.string());
  }
  return modules;
}

// What the conversion reads of the source folder: the config, every file holding tensors, the
// checkpoint or its index, and a TF bundle's index and `checkpoint` state file.
class ConsumedFiles {
 public:
  ConsumedFiles(const Plan& plan, const CheckpointReader& reader) {
    used_.insert(normal(plan.source.config_path));
    used_.insert(normal(plan.source.checkpoint));
    for (const auto& t : reader.tensors())
      if (!t.file.empty()) used_.insert(normal(t.file));
    if (plan.source.format == Format::kTfBundle) {
      bundle_prefix_ = fs::path(plan.source.checkpoint).filename().string();
      used_.insert(normal(fs::path(plan.source.folder) / "checkpoint"));
    }
  }
  bool contains(const fs::path& path) const {
    if (used_.count(normal(path))) return true;
    const auto prefix = tf_bundle_prefix(path.filename().string());
    return prefix && !bundle_prefix_.empty() && *prefix == bundle_prefix_;
  }
  const std::string& bundle_prefix() const { return bundle_prefix_; }

 private:
  std::set<fs::path> used_;
  std::string bundle_prefix_;  // TF bundle sources: the prefix read ("model.ckpt-3")
};

// "3 files", or "10000+ files": a folder left behind (a .git of a hub clone) is counted for the
// report, not walked to its end.
std::string count_files(const fs::path& dir) {
  constexpr size_t kMaxCounted = 10000;
  size_t count = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec)) ++count;
    if (count == kMaxCounted) return std::to_string(count) + "+ files";
  }
  return std::to_string(count) + (count == 1 ? " file" : " files");
}

// Every regular file below `dir`, as paths relative to `folder`, sorted.
std::vector<fs::path> files_below(const fs::path& folder, const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder / dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_directory(ec)) files.push_back(it->path().lexically_relative(folder));
  std::sort(files.begin(), files.end());
  return files;
}

// Why a file of the source folder stays behind, for the files no table carries.
std::string reason_left_behind(const std::string& name, bool is_dir, Convention to,
                               const std::string& read_from) {
  const std::string target(convention_name(to));
  if (is_dir) return "a folder " + target + " loaders do not read";
  if (name.starts_with("events.out.tfevents.")) return "TensorBoard event log of the training run";
  if (name.ends_with(".meta"))
    return std::string("TF1 graph of a checkpoint (MetaGraphDef)") +
           (is_tf1(to) ? "; the output has its own model.ckpt.meta" : "");
  if (name == "graph.pbtxt") return "graph of the training run (text)";
  if (name == "counter") return "training step counter of the run that wrote the checkpoint";
  if (name == "checkpoint") return "TensorFlow's state file of checkpoints not converted";
  if (ends_with_any(name, kWeightSuffixes))
    return "other weights, not converted (the conversion read " + read_from + ")";
  return "not a file " + target + " loaders read";
}

}  // namespace

InputFile open_folder_file(const fs::path& folder, const fs::path& relative) {
  if (relative.is_absolute() || relative.empty() || relative == ".")
    throw_bad_input((folder / relative).string(), std::nullopt,
                    "is not a file of the folder " + folder.string());
  const auto path = find_in_folder(folder.string(), relative.string());
  if (!path) throw Error(ErrorKind::kIo, "no such file", (folder / relative).string());
  return InputFile::open(*path);
}

FolderFileReader folder_file_reader(const std::string& folder) {
  return [folder](std::string_view name) -> std::optional<FolderFile> {
    const auto path = find_in_folder(folder, name);
    if (!path) return std::nullopt;
    std::string text = open_folder_file(folder, name).read_all(kMaxCarriedFileBytes, "the file");
    check_carried_text(text, *path);
    return FolderFile{*path, std::move(text)};
  };
}

void copy_folder_file(const std::string& source_folder, const FileCopy& copy,
                      const fs::path& staging) {
  const fs::path relative = fs::path(copy.source).lexically_relative(source_folder);
  const InputFile in = open_folder_file(source_folder, relative);
  const fs::path target = staging / copy.target;
  fs::create_directories(target.parent_path());
  OutputFile out(target.string());  // fsynced like every other output file
  std::vector<std::byte> buffer(1 << 20);
  for (uint64_t done = 0;;) {
    const ssize_t got = ::pread(in.fd(), buffer.data(), buffer.size(), static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw_io(copy.source, "cannot read", errno);
    if (got == 0) break;
    out.write(std::span(buffer.data(), static_cast<size_t>(got)));
    done += static_cast<uint64_t>(got);
  }
  out.close();
}

void plan_folder_files(Plan& plan, const CheckpointReader& reader) {
  const fs::path folder = plan.source.folder;
  const Convention from = plan.source.convention;
  const Convention to = plan.to;
  const Family& family = *plan.family;
  const ConsumedFiles consumed(plan, reader);
  const std::set<std::string> modules = sentence_transformers_modules(folder);
  const std::string read_from = fs::path(plan.source.checkpoint).filename().string();

  for (auto& generated : family.generated_files(from, to, plan.config))
    plan.generated.push_back(std::move(generated));
  auto generated = [&](const std::string& name) {
    return std::any_of(plan.generated.begin(), plan.generated.end(),
                       [&](const GeneratedFile& g) { return g.name == name; });
  };
  auto carry = [&](const fs::path& relative, const std::string& target) {
    // Refused now, before anything is written, if it is a special file, a link leaving the
    // folder, or not what its name says (convert/carried_file.h).
    const auto path = find_in_folder(folder.string(), relative.string());
    if (!path) throw Error(ErrorKind::kIo, "no such file", (folder / relative).string());
    check_carried_file(*path);
    plan.files.push_back({(folder / relative).string(), target});
  };
  auto leave = [&](std::string name, std::string reason) {
    plan.left_behind.push_back({std::move(name), std::move(reason)});
  };

  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) entries.push_back(e);
  if (ec) throw Error(ErrorKind::kIo, "cannot list the model folder: " + ec.message(), folder);
  std::sort(entries.begin(), entries.end());

  bool any_vocab = false;
  std::map<std::string, size_t> other_bundles;  // prefix -> file count
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    const bool is_dir = entry.is_directory(ec);
    if (!is_dir && consumed.contains(entry.path())) continue;
    const auto row = std::find_if(family.files().begin(), family.files().end(), [&](auto& r) {
      return r.names[static_cast<size_t>(from)] == name;
    });
    if (!is_dir && row != family.files().end()) {
      const std::string_view target = row->names[static_cast<size_t>(to)];
      if (target.empty()) {
        leave(name, std::string(convention_name(to)) + " has no such file");
      } else {
        carry(name, std::string(target));
        any_vocab = true;
      }
      continue;
    }
    if (!is_dir && generated(name)) {
      leave(name, "replaced by the one made from the config");
      continue;
    }
    const bool ecosystem = is_dir ? modules.count(name) > 0
                                  : std::find(kHfEcosystemFiles.begin(), kHfEcosystemFiles.end(),
                                              name) != kHfEcosystemFiles.end();
    if (ecosystem && is_hf(to)) {
      if (is_dir)
        for (const auto& file : files_below(folder, name)) carry(file, file.string());
      else
        carry(name, name);
      continue;
    }
    if (ecosystem) {
      leave(is_dir ? name + "/" : name,
            std::string(is_dir ? "sentence-transformers module; " : "") +
                std::string(convention_name(to)) + " has no such file");
      continue;
    }
    if (const auto prefix = tf_bundle_prefix(name); prefix && !is_dir) {
      ++other_bundles[*prefix];
      continue;
    }
    if (is_dir)
      leave(name + "/ (" + count_files(entry.path()) + ")",
            reason_left_behind(name, true, to, read_from));
    else
      leave(name, reason_left_behind(name, false, to, read_from));
  }
  for (const auto& [prefix, count] : other_bundles)
    leave(prefix + ".* (" + std::to_string(count) + (count == 1 ? " file)" : " files)"),
          "another TensorFlow checkpoint, not converted (the conversion read " + read_from + ")");
  if (!any_vocab) plan.notes.push_back("no vocabulary files in the source folder");
}

}  // namespace tensorferry
