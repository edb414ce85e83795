#include "convert/detect.h"

#include <filesystem>

#include "core/error.h"
#include "core/input_file.h"
#include "core/limits.h"
#include "formats/tf_bundle/checkpoint_state.h"
#include "formats/tf_bundle/tf_bundle.h"
#include "formats/tf_bundle/variable_names.h"
#include "models/config_json.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {

// Checkpoint files per HF convention, in the order transformers prefers them.
struct Candidate {
  const char* name;
  Format format;
};
constexpr Candidate kHfPyTorchFiles[] = {
    {"model.safetensors.index.json", Format::kSafetensors},
    {"model.safetensors", Format::kSafetensors},
    {"pytorch_model.bin.index.json", Format::kPyTorch},
    {"pytorch_model.bin", Format::kPyTorch},
};
constexpr Candidate kHfTf2Files[] = {
    {"tf_model.h5.index.json", Format::kKerasH5},
    {"tf_model.h5", Format::kKerasH5},
};

// Whether `name` is in `folder`; a special file or a link leaving the folder is refused
// (core/input_file.h), not taken for absent.
bool is_file(const fs::path& folder, std::string_view name) {
  return find_in_folder(folder.string(), name).has_value();
}

// The TF bundle prefix of a TF1 folder: the `checkpoint` state file's choice when there is one
// (so that the report names the prefix read, model.ckpt-3 of a training run's several), else
// `preferred`.index, else the only *.index file.
std::optional<std::string> find_tf1_checkpoint(const fs::path& folder, const char* preferred) {
  if (is_file(folder, tf_bundle::kStateFileName))
    return tf_bundle::prefix_from_state_file(folder.string());
  if (is_file(folder, std::string(preferred) + ".index")) return (folder / preferred).string();
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 6 && name.ends_with(".index") && name[0] != '.' && is_file(folder, name))
      found.push_back(e.path().string().substr(0, e.path().string().size() - 6));
  }
  if (found.size() == 1) return found.front();
  if (found.size() > 1)
    throw Error(ErrorKind::kUsage,
                "several TF checkpoints (" + found[0] + ", " + found[1] +
                    ", ...) and no `checkpoint` state file saying which is current",
                folder.string());
  return std::nullopt;
}

// The bundle prefix a file of it names: PREFIX for PREFIX.index, PREFIX.data-*, PREFIX itself.
std::string bundle_prefix_of(const std::string& file) {
  std::string p = file;
  if (p.ends_with(".index")) p = p.substr(0, p.size() - 6);
  const auto data = p.find(".data-");
  if (data != std::string::npos) p = p.substr(0, data);
  return p;
}

// A TF2 object-based checkpoint (tf.train.Checkpoint(model=TF...Model).save) in `folder`, or the
// one `explicit_file` names: its prefix when the bundle has an object graph. It is read as
// hf-tf2 under its variables' names (formats/tf_bundle/variable_names.h).
std::optional<std::string> find_tf2_object_checkpoint(const fs::path& folder,
                                                      const std::string& explicit_file) {
  std::optional<std::string> prefix;
  if (!explicit_file.empty()) {
    prefix = bundle_prefix_of(explicit_file);
    std::error_code ec;
    if (!fs::exists(*prefix + ".index", ec)) return std::nullopt;
  } else {
    prefix = find_tf1_checkpoint(folder, "ckpt");
    if (!prefix) return std::nullopt;
  }
  if (!tf_bundle::is_object_based(*open_tf_bundle(*prefix))) return std::nullopt;
  return prefix;
}

// A TF2 checkpoint carries no config: without config.json beside it there is nothing to read
// the model's sizes and type from, and that is said rather than "not a model folder".
void refuse_tf2_checkpoint_without_config(const fs::path& folder,
                                          const std::string& explicit_file) {
  const auto prefix = find_tf2_object_checkpoint(folder, explicit_file);
  if (!prefix) return;
  throw_bad_input((folder / "config.json").string(), std::nullopt,
                  "is missing: " + *prefix +
                      " is a TF2 object-based checkpoint (tf.train.Checkpoint), which carries no "
                      "config; put the model's config.json (as save_pretrained writes it: "
                      "model_type, sizes, architectures) beside it");
}

std::optional<ModelSource> find_hf(const fs::path& folder, Convention c,
                                   const std::string& explicit_file) {
  if (!is_file(folder, "config.json")) {
    if (c == Convention::kHfTf2) refuse_tf2_checkpoint_without_config(folder, explicit_file);
    return std::nullopt;
  }
  ModelSource s;
  s.convention = c;
  s.folder = folder.string();
  s.config_path = (folder / "config.json").string();
  const auto& list = c == Convention::kHfPyTorch ? std::span<const Candidate>(kHfPyTorchFiles)
                                                 : std::span<const Candidate>(kHfTf2Files);
  const auto tf2_checkpoint = [&]() -> std::optional<ModelSource> {
    if (c != Convention::kHfTf2) return std::nullopt;
    const auto prefix = find_tf2_object_checkpoint(folder, explicit_file);
    if (!prefix) return std::nullopt;
    s.checkpoint = *prefix;
    s.format = Format::kTfBundle;
    return s;
  };
  if (!explicit_file.empty()) {
    auto f = format_from_extension(explicit_file);
    if (!f || *f == Format::kTfBundle) return tf2_checkpoint();
    if ((*f == Format::kKerasH5) != (c == Convention::kHfTf2)) return std::nullopt;
    s.checkpoint = explicit_file;
    s.format = *f;
    return s;
  }
  for (const auto& cand : list) {
    if (auto p = find_in_folder(folder.string(), cand.name)) {
      s.checkpoint = *p;
      s.format = cand.format;
      return s;
    }
  }
  return tf2_checkpoint();
}

// A TF1 folder of `c` belongs to the first family of that convention whose config file it holds
// (hparams.json: GPT-2, bert_config.json: BERT); the family names its checkpoint prefix.
std::optional<ModelSource> find_tf1(const fs::path& folder, Convention c,
                                    const std::string& explicit_file) {
  const Family* family = nullptr;
  for (const Family* f : all_families())
    if (f->supports(c) && !f->config_file(c).empty() && is_file(folder, f->config_file(c))) {
      family = f;
      break;
    }
  if (!family) return std::nullopt;
  ModelSource s;
  s.family = family;
  s.convention = c;
  s.folder = folder.string();
  s.config_path = (folder / family->config_file(c)).string();
  s.format = Format::kTfBundle;
  if (!explicit_file.empty()) {
    s.checkpoint = bundle_prefix_of(explicit_file);
    return s;
  }
  auto found = find_tf1_checkpoint(folder, std::string(family->tf1_checkpoint_prefix(c)).c_str());
  if (!found) return std::nullopt;
  s.checkpoint = *found;
  return s;
}

const Family* family_from_hf_config(const std::string& path) {
  const nlohmann::json config = parse_config_json(read_config_file(path), path);
  for (const Family* f : all_families())
    if (f->matches_hf_config(config)) return f;
  std::string type = config.contains("model_type") ? config["model_type"].dump() : "none";
  std::string known;
  for (const Family* f : all_families())
    known += (known.empty() ? "" : ", ") + std::string(f->name());
  throw_bad_input(
      path, std::nullopt,
      "not a model family tensorferry knows (model_type " + type + "); known: " + known);
}

// The config files of a TF1 convention's families: "bert_config.json".
std::string tf1_config_files(Convention c, const char* joiner) {
  std::string out;
  for (const Family* f : all_families())
    if (f->supports(c) && !f->config_file(c).empty())
      out += (out.empty() ? "" : joiner) + std::string(f->config_file(c));
  return out;
}

// What a model folder of `from` (or of any convention) must hold, for the error message.
std::string model_folder_needs(std::optional<Convention> from) {
  if (!from) {
    std::string needs =
        "a model folder tensorferry recognises: config.json with model.safetensors / "
        "pytorch_model.bin / tf_model.h5 / a TF2 tf.train.Checkpoint (Hugging Face)";
    for (const Family* f : all_families())
      for (Convention c : {Convention::kOpenAiTf1, Convention::kGoogleTf1})
        if (f->supports(c) && !f->config_file(c).empty())
          needs += ", " + std::string(f->config_file(c)) + " with " +
                   std::string(f->tf1_checkpoint_prefix(c)) + " (" +
                   std::string(convention_name(c)) + " " + std::string(f->name()) + ")";
    return needs;
  }
  std::string needs =
      "a model folder of the " + std::string(convention_name(*from)) + " convention: ";
  switch (*from) {
    case Convention::kHfPyTorch:
      return needs +
             "config.json and model.safetensors or pytorch_model.bin (or their .index.json)";
    case Convention::kHfTf2:
      return needs +
             "config.json and tf_model.h5 (or its .index.json), or config.json beside a TF2 "
             "checkpoint written by tf.train.Checkpoint(model=TF...Model)";
    case Convention::kOpenAiTf1:
    case Convention::kGoogleTf1:
      return needs + tf1_config_files(*from, " or ") + " and a TF checkpoint";
  }
  return needs;
}

// Names what was given: a file is named as the file (not only its folder), with what a model
// conversion expects instead.
[[noreturn]] void throw_not_a_model(const fs::path& folder, const std::string& explicit_file,
                                    std::optional<Convention> from, bool folder_is_model) {
  if (explicit_file.empty())
    throw_bad_input(folder.string(), std::nullopt, "not " + model_folder_needs(from));
  const std::string expected = "a file where a model folder is expected: expected " +
                               model_folder_needs(from) + ", or its checkpoint file";
  if (folder_is_model)
    throw_bad_input(explicit_file, std::nullopt,
                    expected + "; give the folder " + folder.string() + " itself");
  throw_bad_input(explicit_file, std::nullopt,
                  expected + "; the folder " + folder.string() +
                      " it is in is not one (to change only the container of this file, "
                      "convert it without --to)");
}

}  // namespace

std::string read_config_file(const std::string& path) {
  return read_input_text(path, kMaxConfigFileBytes, "the config file");
}

ModelSource detect_model(const std::string& path, std::optional<Convention> from) {
  std::error_code ec;
  fs::path folder = path;
  std::string explicit_file;
  if (!fs::is_directory(folder, ec)) {
    // Named on the command line, not found through a folder: no link rule; a special file is
    // refused when it is opened.
    if (fs::exists(folder, ec) || fs::exists(path + ".index", ec)) {
      explicit_file = path;
      folder = fs::path(path).parent_path();
      if (folder.empty()) folder = ".";
    } else {
      throw Error(ErrorKind::kIo, "no such file or folder", path);
    }
  }
  std::vector<Convention> order = {Convention::kOpenAiTf1, Convention::kGoogleTf1,
                                   Convention::kHfPyTorch, Convention::kHfTf2};
  if (from) order = {*from};
  auto find = [&](Convention c, const std::string& file) {
    return is_hf(c) ? find_hf(folder, c, file) : find_tf1(folder, c, file);
  };
  for (Convention c : order) {
    std::optional<ModelSource> s = find(c, explicit_file);
    if (!s) continue;
    if (is_hf(c)) s->family = family_from_hf_config(s->config_path);
    return *s;
  }
  bool folder_is_model = false;
  if (!explicit_file.empty())
    for (Convention c : order) folder_is_model = folder_is_model || find(c, "").has_value();
  throw_not_a_model(folder, explicit_file, from, folder_is_model);
}

}  // namespace tensorferry
