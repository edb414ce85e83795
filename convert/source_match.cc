#include "convert/source_match.h"

#include <algorithm>
#include <cctype>

namespace tensorferry {

namespace {

// Keras weight names are "<top-level layer>/<model scope>/<path>"; the scope is the class name
// in snake case plus a per-process counter suffix when several models were built ("_1"), so
// lookups ignore it, as transformers' h5 loader does.
std::string strip_tf2_scope(const std::string& name) {
  const size_t a = name.find('/');
  if (a == std::string::npos) return name;
  const size_t b = name.find('/', a + 1);
  if (b == std::string::npos) return name;
  return name.substr(0, a) + name.substr(b);
}

// Every run of digits as '#': "model/h12/ln_1/g" -> "model/h#/ln_#/g".
std::string digits_folded(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(name[i]))) {
      out += '#';
      while (i + 1 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1]))) ++i;
    } else {
      out += name[i];
    }
  }
  return out;
}

std::string lookup_key(Convention c, const std::string& name) {
  return c == Convention::kHfTf2 ? strip_tf2_scope(name) : name;
}

}  // namespace

SourceIndex::SourceIndex(const Family& family, const ModelConfig& config, Convention c)
    : convention_(c), bases_{""}, layers_(static_cast<int>(config.symbols.at('L'))) {
  // HF PyTorch checkpoints name base parameters with or without the class's prefix.
  if (c == Convention::kHfPyTorch)
    for (const auto& cls : family.hf_classes())
      if (std::find(bases_.begin(), bases_.end(), cls.base_prefix) == bases_.end())
        bases_.emplace_back(cls.base_prefix);
  const auto& params = family.params();
  for (size_t r = 0; r < params.size(); ++r)
    if (family.group_enabled(config, params[r].group))
      add(params[r].stored[static_cast<size_t>(c)].name, params[r].per_layer,
          {SourceMatch::kParam, r, -1});
  // Aliases and buffers never shadow a parameter (an untied head has the alias's name). A buffer
  // shadows an alias: a copy that is written for the target's loader but never applied by the
  // framework (ALBERT's TF2 MLM `bias`) is skipped on read, not held to equal its origin.
  const auto& buffers = family.buffers();
  for (size_t r = 0; r < buffers.size(); ++r)
    if (buffers[r].convention == c)
      add(buffers[r].name, buffers[r].name.find("{i}") != std::string_view::npos,
          {SourceMatch::kBuffer, r, -1});
  const auto& aliases = family.aliases();
  for (size_t r = 0; r < aliases.size(); ++r)
    if (aliases[r].convention == c) add(aliases[r].name, false, {SourceMatch::kAlias, r, -1});
}

void SourceIndex::add(std::string_view tmpl, bool per_layer, SourceMatch match) {
  if (tmpl.empty()) return;
  for (const auto& base : bases_) {
    for (int i = 0; i < (per_layer ? layers_ : 1); ++i) {
      match.layer = per_layer ? i : -1;
      map_.emplace(lookup_key(convention_, expand_template(tmpl, i, base, "S")), match);
    }
    if (per_layer)
      layer_patterns_.insert(
          digits_folded(lookup_key(convention_, expand_template(tmpl, 0, base, "S"))));
  }
}

const SourceMatch* SourceIndex::find(const std::string& name) const {
  auto it = map_.find(lookup_key(convention_, name));
  return it == map_.end() ? nullptr : &it->second;
}

bool SourceIndex::looks_per_layer(const std::string& name) const {
  return layer_patterns_.count(digits_folded(lookup_key(convention_, name))) > 0;
}

}  // namespace tensorferry
