#include "verify/model.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/input_file.h"
#include "formats/registry.h"
#include "formats/tf_bundle/variable_names.h"

namespace tensorferry::verify {
namespace fs = std::filesystem;

namespace {

bool has_token_table(const std::vector<TensorEntry>& tensors, const Family& family,
                     Convention convention) {
  const ParamSpec* spec = find_param(family, convention, family.token_table);
  const auto names = spellings(spec->stored, 0);
  for (const auto& t : tensors) {
    auto key = normalize_name(family, convention, t.name);
    if (key && std::find(names.begin(), names.end(), *key) != names.end()) return true;
  }
  return false;
}

std::string find_config(const Model& model) {
  fs::path dir = fs::is_directory(model.path) ? fs::path(model.path)
                                              : fs::path(model.checkpoint).parent_path();
  if (dir.empty()) dir = ".";
  std::vector<std::string> names;
  for (auto name : model.family->config_files[static_cast<size_t>(model.convention)])
    names.emplace_back(name);
  for (const auto& name : names)
    if (auto found = find_in_folder(dir.string(), name)) return *found;
  // Name what the user gave: the folder, or the file whose folder lacks the config.
  const std::string given = fs::is_directory(model.path) ? dir.string() : model.path;
  throw_bad_input(given, std::nullopt,
                  "no " + names.front() + " in " + dir.string() + " next to the " +
                      std::string(convention_name(model.convention)) +
                      " checkpoint: verify needs the model's config (give a model folder)");
}

// How many of the tensors `family`'s table for `convention` names.
size_t tensors_named(const std::vector<TensorEntry>& tensors, const Family& family,
                     Convention convention) {
  size_t count = 0;
  for (const auto& t : tensors) {
    auto key = normalize_name(family, convention, t.name);
    if (key && match_param(family, convention, *key)) ++count;
  }
  return count;
}

// Whether the folder of `path` holds a config of `family` in `convention` that reads as that
// family's (HF configs name their model_type): what tells apart families whose tables share
// the token-table name and as many other names (ELECTRA's and BERT's base models).
bool config_fits(const std::string& path, const Family& family, Convention convention) {
  fs::path dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  for (auto name : family.config_files[static_cast<size_t>(convention)]) {
    const auto found = find_in_folder(dir.string(), name);
    if (!found) continue;
    try {
      read_model_config(family, convention, *found);
      return true;
    } catch (const Error&) {
      return false;
    }
  }
  return false;
}

}  // namespace

std::pair<const Family*, Convention> detect_convention(const std::vector<TensorEntry>& tensors,
                                                       const std::string& path,
                                                       std::optional<Convention> forced,
                                                       std::string_view only) {
  std::vector<std::pair<const Family*, Convention>> found;
  for (const Family* family : all_families())
    for (Convention convention : family->conventions()) {
      if (forced && convention != *forced) continue;
      if (!only.empty() && family->name != only) continue;
      if (has_token_table(tensors, *family, convention)) found.emplace_back(family, convention);
    }
  if (!only.empty() && found.empty())  // the named family has no such convention
    return detect_convention(tensors, path, forced);
  if (found.size() > 1) {
    // Families that share the token table's name (the BERT lineage) differ in their other
    // names: the table that names the most tensors, and among equals the family whose config
    // the folder holds.
    std::vector<size_t> named;
    for (const auto& [f, c] : found) named.push_back(tensors_named(tensors, *f, c));
    const size_t most = *std::max_element(named.begin(), named.end());
    std::vector<std::pair<const Family*, Convention>> best, fitting;
    for (size_t i = 0; i < found.size(); ++i)
      if (named[i] == most) best.push_back(found[i]);
    if (best.size() == 1) return best.front();
    for (const auto& [f, c] : best)
      if (config_fits(path, *f, c)) fitting.emplace_back(f, c);
    // Still several (ELECTRA's two networks read an HF folder alike): the first registered.
    if (!fitting.empty()) return fitting.front();
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    std::string expected;
    for (const Family* family : all_families())
      for (Convention convention : family->conventions()) {
        if (forced && convention != *forced) continue;
        expected +=
            std::string(expected.empty() ? "" : ", ") +
            spellings(find_param(*family, convention, family->token_table)->stored, 0).front() +
            " (" + std::string(family->name) + " " + std::string(convention_name(convention)) + ")";
      }
    throw_bad_input(path, std::nullopt,
                    "not a model checkpoint verify knows: no token embedding named like " +
                        (expected.empty() ? std::string("any convention") : expected));
  }
  std::string list;
  for (const auto& [f, c] : found)
    list += std::string(list.empty() ? "" : ", ") + std::string(f->name) + " " +
            std::string(convention_name(c));
  throw_bad_input(path, std::nullopt,
                  "tensor names fit several model conventions (" + list + "); choose with --from");
}

Model open_model(const std::string& path, std::optional<Convention> forced,
                 std::string_view family) {
  Model model;
  model.path = path;
  auto reader = open_checkpoint(path);
  // A TF2 object-based checkpoint is read under its variables' names (TF's own name-based
  // restore of it), so that a Keras model's checkpoint reads as its tf_model.h5.
  if (tf_bundle::is_object_based(*reader))
    reader = tf_bundle::read_by_variable_names(std::move(reader));
  model.checkpoint = reader->path();
  model.format = reader->format();
  std::tie(model.family, model.convention) =
      detect_convention(reader->tensors(), path, forced, family);
  model.convention_forced = forced.has_value();
  model.config = read_model_config(*model.family, model.convention, find_config(model));
  model.weights =
      std::make_unique<ModelWeights>(std::move(reader), *model.family, model.convention);
  return model;
}

}  // namespace tensorferry::verify
