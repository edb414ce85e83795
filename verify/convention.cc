#include "verify/convention.h"

#include "verify/family.h"

namespace tensorferry::verify {
namespace {

using enum Use;

bool starts_with(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }
bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return parts;
    start = pos + 1;
  }
}

}  // namespace

std::string_view convention_name(Convention convention) {
  switch (convention) {
    case Convention::kHfPytorch: return "hf-pytorch";
    case Convention::kHfTf2: return "hf-tf2";
    case Convention::kOpenAiTf1: return "openai-tf1";
    case Convention::kGoogleTf1: return "google-tf1";
  }
  return "unknown";
}

std::optional<Convention> convention_from_name(std::string_view name) {
  for (Convention c : kAllConventions)
    if (convention_name(c) == name) return c;
  return std::nullopt;
}

const std::vector<ParamSpec>& Family::params(Convention convention) const {
  static const std::vector<ParamSpec> kNone;
  const auto* table = tables[static_cast<size_t>(convention)];
  return table ? *table : kNone;
}

std::vector<Convention> Family::conventions() const {
  std::vector<Convention> out;
  for (Convention c : kAllConventions)
    if (!params(c).empty()) out.push_back(c);
  return out;
}

std::string_view use_description(Use use) {
  switch (use) {
    case kTable: return "embedding table [rows, width]";
    case kVector: return "vector [n]";
    case kRowVector: return "TFConv1D bias [1, n]";
    case kLinear: return "PyTorch Linear weight [out, in] (y = x·Wᵀ + b)";
    case kTransposedB: return "TF1 output_weights [out, in] (matmul transpose_b)";
    case kDense: return "Keras Dense kernel [in, out] (y = x·K + b)";
    case kConv1D: return "GPT-2 Conv1D weight [in, out] (y = x·W + b)";
    case kOpenAiConv1D: return "OpenAI conv1d w [1, in, out]";
  }
  return "?";
}

bool stored_out_by_in(Use use) { return use == kLinear || use == kTransposedB; }
bool is_matrix_use(Use use) {
  return use == kLinear || use == kTransposedB || use == kDense || use == kConv1D ||
         use == kOpenAiConv1D;
}

const ParamSpec* find_param(const Family& family, Convention convention, Param param) {
  for (const auto& spec : family.params(convention))
    if (spec.param == param) return &spec;
  return nullptr;
}

std::string instantiate(std::string_view name_template, int layer) {
  std::string out(name_template);
  const size_t pos = out.find("{i}");
  if (pos != std::string::npos) out.replace(pos, 3, std::to_string(layer));
  return out;
}

std::vector<std::string> spellings(std::string_view stored, int layer) {
  std::vector<std::string> out;
  for (const auto& part : split(std::string(stored), '|')) out.push_back(instantiate(part, layer));
  return out;
}

std::string canonical_name(const Family& family, Param param, int layer) {
  const ParamSpec* spec = find_param(family, Convention::kHfPytorch, param);
  return spec ? spellings(spec->stored, layer).front() : std::string();
}

std::optional<std::string> normalize_name(const Family& family, Convention convention,
                                          const std::string& name) {
  switch (convention) {
    case Convention::kHfPytorch: {
      if (name.find('/') != std::string::npos || name.find(':') != std::string::npos)
        return std::nullopt;
      std::string key = name;
      const std::string_view prefix = family.hf_base_prefix;
      if (starts_with(key, prefix)) key = key.substr(prefix.size());
      // transformers renames these two on load (old BERT files, e.g. bert-base-uncased).
      if (ends_with(key, "LayerNorm.gamma"))
        key = key.substr(0, key.size() - 5) + "weight";
      else if (ends_with(key, "LayerNorm.beta"))
        key = key.substr(0, key.size() - 4) + "bias";
      return key;
    }
    case Convention::kHfTf2: {
      std::string key = name;
      if (starts_with(key, "/")) key = key.substr(1);
      if (ends_with(key, ":0")) key = key.substr(0, key.size() - 2);
      const auto parts = split(key, '/');
      // A tf_model.h5 dataset path is <Keras layer>/<model scope>/<weight path>; the weight's own
      // name (and HF's sharded files) start at the model scope or below it. Model scopes are the
      // snake-cased TF class names, all "tf...".
      size_t drop = 0;
      if (parts.size() >= 3 && starts_with(parts[1], "tf"))
        drop = 2;
      else if (parts.size() >= 2 && starts_with(parts[0], "tf"))
        drop = 1;
      std::string out;
      for (size_t i = drop; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
      return out;
    }
    case Convention::kOpenAiTf1:
    case Convention::kGoogleTf1:
      if (ends_with(name, ":0")) return std::nullopt;
      return name;
  }
  return std::nullopt;
}

std::optional<ParamMatch> match_param(const Family& family, Convention convention,
                                      const std::string& key) {
  for (const auto& spec : family.params(convention)) {
    for (const auto& spelling : split(std::string(spec.stored), '|')) {
      const size_t hole = spelling.find("{i}");
      if (hole == std::string::npos) {
        if (key == spelling) return ParamMatch{spec.param, -1, &spec};
        continue;
      }
      const std::string_view before = std::string_view(spelling).substr(0, hole);
      const std::string_view after = std::string_view(spelling).substr(hole + 3);
      if (key.size() <= before.size() + after.size() || !starts_with(key, before) ||
          !ends_with(key, after))
        continue;
      const std::string digits =
          key.substr(before.size(), key.size() - before.size() - after.size());
      if (digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos ||
          (digits.size() > 1 && digits[0] == '0'))
        continue;
      return ParamMatch{spec.param, std::stoi(digits), &spec};
    }
  }
  return std::nullopt;
}

bool is_known_extra(const Family& family, Convention convention, const std::string& key) {
  if (family.known_extra && family.known_extra(convention, key)) return true;
  if (convention != Convention::kOpenAiTf1 && convention != Convention::kGoogleTf1) return false;
  // Training state Google's and HF's TF1 loaders skip by name.
  for (const auto& part : split(key, '/'))
    if (part == "adam_m" || part == "adam_v" || part == "global_step" ||
        starts_with(part, "AdamWeightDecayOptimizer") || part == "position_ids")
      return true;
  return false;
}

}  // namespace tensorferry::verify
