#include "models/family.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "models/config_json.h"

namespace tensorferry {

namespace {

constexpr std::array<std::string_view, kConventionCount> kConventionNames = {
    "hf-pytorch", "hf-tf2", "openai-tf1", "google-tf1"};

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool contains(const std::vector<std::string_view>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

std::string_view convention_name(Convention c) { return kConventionNames[static_cast<size_t>(c)]; }

std::optional<Convention> convention_from_name(std::string_view name) {
  for (Convention c : kAllConventions)
    if (convention_name(c) == name) return c;
  return std::nullopt;
}

ShapeExpr parse_shape_expr(std::string_view text) {
  ShapeExpr shape;
  if (text.empty()) return shape;  // a scalar
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view term = text.substr(start, comma - start);
    Dim dim;
    size_t digits = 0;
    while (digits < term.size() && std::isdigit(static_cast<unsigned char>(term[digits]))) ++digits;
    if (digits > 0) dim.factor = std::stoull(std::string(term.substr(0, digits)));
    std::string_view rest = term.substr(digits);
    if (rest.size() == 1 && std::isalpha(static_cast<unsigned char>(rest[0]))) {
      dim.symbol = rest[0];
    } else if (!rest.empty() || digits == 0) {
      throw Error(ErrorKind::kUsage, "bad shape expression \"" + std::string(text) + "\"");
    }
    shape.push_back(dim);
    start = comma + 1;
  }
  return shape;
}

std::string shape_expr_to_string(const ShapeExpr& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    if (shape[i].symbol == '#') {
      out += std::to_string(shape[i].factor);
    } else {
      if (shape[i].factor != 1) out += std::to_string(shape[i].factor);
      out += shape[i].symbol;
    }
  }
  return out + "]";
}

std::optional<Shape> evaluate_shape(const ShapeExpr& shape, const Symbols& symbols) {
  Shape out;
  for (const Dim& d : shape) {
    if (d.symbol == '#') {
      out.push_back(d.factor);
      continue;
    }
    auto it = symbols.find(d.symbol);
    if (it == symbols.end()) return std::nullopt;
    out.push_back(d.factor * it->second);
  }
  return out;
}

std::vector<std::string> keras_layer_names(const HfClass& c, uint64_t dropout_number) {
  std::vector<std::string> names;
  for (auto layer : c.tf2_layers)
    names.emplace_back(layer == "dropout_#" ? "dropout_" + std::to_string(dropout_number)
                                            : std::string(layer));
  return names;
}

std::string hf_config_text(const ModelConfig& config, const HfClass* hf_class,
                           std::string_view labelled_class) {
  nlohmann::json hf = config.hf;
  if (hf_class) hf["architectures"] = {std::string(hf_class->name)};
  if (auto c = config.symbols.find('C');
      c != config.symbols.end() && hf_class &&
      (hf_class->name == labelled_class ||
       std::find(hf_class->groups.begin(), hf_class->groups.end(), "token_classifier") !=
           hf_class->groups.end())) {
    auto it = hf.find("id2label");
    if (it == hf.end() || !it->is_object() || it->size() != c->second) set_hf_labels(hf, c->second);
  }
  return dump_sorted_json(hf);
}

std::string expand_template(std::string_view tmpl, int layer, std::string_view base,
                            std::string_view scope) {
  std::string out;
  out.reserve(tmpl.size() + 16);
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      const size_t close = tmpl.find('}', i);
      const std::string_view key = tmpl.substr(i + 1, close - i - 1);
      if (key == "i")
        out += std::to_string(layer);
      else if (key == "base")
        out += base;
      else if (key == "scope")
        out += scope;
      else
        throw Error(ErrorKind::kUsage, "bad name template \"" + std::string(tmpl) + "\"");
      i = close + 1;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

const HfClass* Family::find_hf_class(std::string_view name) const {
  for (const auto& c : hf_classes())
    if (c.name == name) return &c;
  return nullptr;
}

const GroupInfo* Family::find_group(std::string_view name) const {
  for (const auto& g : groups())
    if (g.name == name) return &g;
  return nullptr;
}

const HfClass& Family::choose_hf_class(const std::vector<std::string>& groups,
                                       const std::string& requested) const {
  auto required_present = [&](const HfClass& c) {
    for (auto g : c.groups)
      if (!contains(c.optional, g) && !contains(groups, g)) return false;
    return true;
  };
  if (const HfClass* c = find_hf_class(requested); c && required_present(*c)) return *c;
  // Otherwise the class that keeps the most heads, then the most groups; table order breaks ties
  // (the tables list the usual class first).
  const HfClass* best = nullptr;
  int best_score = -1;
  for (const auto& c : hf_classes()) {
    if (!required_present(c)) continue;
    int score = 0;
    for (auto g : c.groups) {
      if (!contains(groups, g)) continue;
      score += (g == "base" || g == "pooler") ? 1 : 100;
    }
    if (score > best_score) {
      best = &c;
      best_score = score;
    }
  }
  if (!best) {
    std::string list;
    for (const auto& g : groups) list += (list.empty() ? "" : ", ") + g;
    throw Error(ErrorKind::kUsage, "no " + std::string(name()) +
                                       " Hugging Face class holds exactly these parts: " + list);
  }
  return *best;
}

const Family* family_by_name(std::string_view name) {
  for (const Family* f : all_families())
    if (f->name() == name) return f;
  return nullptr;
}

}  // namespace tensorferry
