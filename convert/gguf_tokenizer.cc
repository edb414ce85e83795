#include "convert/gguf_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "convert/detect.h"
#include "core/error.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;
constexpr const char* kSpecialTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};

std::optional<json> read_json(const fs::path& path) {
  if (!fs::is_regular_file(path)) return std::nullopt;
  const std::string text = read_config_file(path.string());
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw_bad_input(path.string(), std::nullopt, "not a JSON object");
  return doc;
}

// Like convert_hf_to_gguf.py's does_token_look_special.
bool looks_special(const std::string& t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wrapped("<unused", ">");
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

struct Vocabulary {
  std::vector<GgufValue> tokens, types;
};

Vocabulary read_vocabulary(const json& tokenizer, uint64_t vocab_size, const std::string& file) {
  std::map<uint64_t, std::string> by_id;
  std::map<uint64_t, bool> added;  // id -> special
  const json& model = tokenizer.value("model", json::object());
  if (model.contains("vocab") && model["vocab"].is_object())
    for (const auto& [text, id] : model["vocab"].items())
      if (id.is_number_unsigned()) by_id[id.get<uint64_t>()] = text;
  for (const auto& a : tokenizer.value("added_tokens", json::array())) {
    if (!a.contains("id") || !a["id"].is_number_unsigned() || !a.contains("content")) continue;
    const auto id = a["id"].get<uint64_t>();
    by_id[id] = a["content"].get<std::string>();
    added[id] = a.value("special", false);
  }
  if (!by_id.empty() && by_id.rbegin()->first >= vocab_size)
    throw_bad_input(file, std::nullopt,
                    "token id " + std::to_string(by_id.rbegin()->first) +
                        " is outside the config's vocab_size " + std::to_string(vocab_size));
  Vocabulary v;
  v.tokens.reserve(vocab_size);
  v.types.reserve(vocab_size);
  for (uint64_t i = 0; i < vocab_size; ++i) {
    auto it = by_id.find(i);
    int32_t type = kNormal;
    std::string text;
    if (it == by_id.end()) {
      text = "[PAD" + std::to_string(i) + "]";
      type = kUnused;
    } else {
      text = it->second;
      if (auto a = added.find(i); a != added.end()) {
        if (a->second || looks_special(text)) {
          type = kControl;
        } else {
          type = kUserDefined;
          text = replace_all(text, "\xe2\x96\x81", " ");  // pre-normalized user-defined spaces
        }
      }
    }
    v.tokens.push_back(GgufValue::of_string(std::move(text)));
    v.types.push_back(GgufValue::of_i32(type));
  }
  return v;
}

std::vector<GgufValue> read_merges(const json& tokenizer, const fs::path& folder) {
  std::vector<GgufValue> merges;
  const json& model = tokenizer.value("model", json::object());
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const auto& m : model["merges"]) {
      if (m.is_string()) {
        merges.push_back(GgufValue::of_string(m.get<std::string>()));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        // Spaces inside a part become U+0120, as gguf-py encodes them.
        merges.push_back(
            GgufValue::of_string(replace_all(m[0].get<std::string>(), " ", "\xc4\xa0") + " " +
                                 replace_all(m[1].get<std::string>(), " ", "\xc4\xa0")));
      }
    }
  }
  if (!merges.empty()) return merges;
  std::ifstream in(folder / "merges.txt");
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    const bool header = first && line.starts_with("#");
    first = false;
    if (header) continue;
    std::istringstream parts(line);
    std::string a, b, extra;
    if (parts >> a >> b && !(parts >> extra)) merges.push_back(GgufValue::of_string(a + " " + b));
  }
  return merges;
}

std::optional<std::string> token_text(const json& config, const std::string& key) {
  if (!config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

std::optional<uint64_t> added_token_id(const json& tokenizer, const std::string& text) {
  for (const auto& a : tokenizer.value("added_tokens", json::array()))
    if (a.value("content", "") == text && a.contains("id") && a["id"].is_number_unsigned())
      return a["id"].get<uint64_t>();
  return std::nullopt;
}

// add_bos / add_eos from the simple TemplateProcessing the converter understands.
void template_flags(const json& tokenizer, json& tc, std::map<std::string, bool>& add) {
  const json& post = tokenizer.value("post_processor", json());
  if (!post.is_object()) return;
  std::vector<json> processors;
  if (post.contains("processors") && post["processors"].is_array())
    processors.assign(post["processors"].begin(), post["processors"].end());
  else
    processors.push_back(post);
  for (const json& p : processors) {
    if (p.value("type", "") != "TemplateProcessing") continue;
    const json single = p.value("single", json::array());
    if (single.size() <= 1) continue;
    auto special_id = [](const json& item) -> std::string {
      if (item.contains("SpecialToken")) return item["SpecialToken"].value("id", "");
      return "";
    };
    const auto bos = token_text(tc, "bos_token").value_or("");
    const auto cls = token_text(tc, "cls_token").value_or("");
    if (const std::string first = special_id(single.front()); !first.empty())
      add["bos"] = first == bos || first == cls;
    if (const std::string last = special_id(single.back()); !last.empty())
      add["eos"] = last == token_text(tc, "eos_token").value_or("");
  }
}

// gguf-py's key for a special token id (its spelling, "seperator" included); cls has none, and
// SpecialVocab skips it.
std::string id_key(const std::string& type) {
  static const std::map<std::string, std::string> keys = {
      {"bos", "bos_token_id"},       {"eos", "eos_token_id"},     {"unk", "unknown_token_id"},
      {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}, {"mask", "mask_token_id"}};
  auto it = keys.find(type);
  return it == keys.end() ? "" : "tokenizer.ggml." + it->second;
}

}  // namespace

void add_gguf_tokenizer(const std::string& folder_name, uint64_t vocab_size,
                        const GgufTokenizerStyle& style, GgufMetadata& out) {
  const fs::path folder(folder_name);
  const fs::path tokenizer_file = folder / "tokenizer.json";
  const auto tokenizer = read_json(tokenizer_file);
  if (!tokenizer)
    throw_usage(folder_name + " has no tokenizer.json; GGUF needs the tokenizer in its metadata");
  json tc = read_json(folder / "tokenizer_config.json").value_or(json::object());
  const json config = read_json(folder / "config.json").value_or(json::object());

  Vocabulary vocab = read_vocabulary(*tokenizer, vocab_size, tokenizer_file.string());
  out.emplace_back("tokenizer.ggml.model", GgufValue::of_string(style.model));
  out.emplace_back("tokenizer.ggml.pre", GgufValue::of_string(style.pre));
  out.emplace_back("tokenizer.ggml.tokens",
                   GgufValue::of_array(GgufValueType::kString, std::move(vocab.tokens)));
  out.emplace_back("tokenizer.ggml.token_type",
                   GgufValue::of_array(GgufValueType::kI32, std::move(vocab.types)));
  auto merges = read_merges(*tokenizer, folder);
  if (!merges.empty())
    out.emplace_back("tokenizer.ggml.merges",
                     GgufValue::of_array(GgufValueType::kString, std::move(merges)));

  // SpecialVocab: cls stands in for a missing bos, sep for a missing eos.
  if (!token_text(tc, "bos_token") && token_text(tc, "cls_token"))
    tc["bos_token"] = tc["cls_token"];
  if (!token_text(tc, "eos_token") && token_text(tc, "sep_token"))
    tc["eos_token"] = tc["sep_token"];
  std::map<std::string, bool> add;
  template_flags(*tokenizer, tc, add);
  std::vector<std::pair<std::string, uint64_t>> ids;
  for (const char* type : kSpecialTypes) {
    const std::string t(type);
    if (tc.contains("add_" + t + "_token") && tc["add_" + t + "_token"].is_boolean())
      add[t] = tc["add_" + t + "_token"].get<bool>();
    if (auto text = token_text(tc, t + "_token"))
      if (auto id = added_token_id(*tokenizer, *text)) ids.emplace_back(t, *id);
  }
  for (const char* type : kSpecialTypes) {
    const std::string t(type);
    const json& v = config.value(t + "_token_id", json());
    const bool known =
        std::any_of(ids.begin(), ids.end(), [&](const auto& p) { return p.first == t; });
    if (!known && v.is_number_unsigned()) ids.emplace_back(t, v.get<uint64_t>());
  }
  for (const auto& [type, id] : ids)
    if (const std::string key = id_key(type); !key.empty())
      out.emplace_back(key, GgufValue::of_u32(static_cast<uint32_t>(id)));
  // gguf-py has add_* keys for these three only.
  for (const char* type : {"bos", "eos", "sep"})
    if (auto it = add.find(type); it != add.end())
      out.emplace_back("tokenizer.ggml.add_" + it->first + "_token",
                       GgufValue::of_bool(it->second));
  if (style.add_space_prefix && tc.contains("add_prefix_space") &&
      tc["add_prefix_space"].is_boolean())
    out.emplace_back("tokenizer.ggml.add_space_prefix",
                     GgufValue::of_bool(tc["add_prefix_space"].get<bool>()));
  if (tc.contains("chat_template") && tc["chat_template"].is_string()) {
    out.emplace_back("tokenizer.chat_template",
                     GgufValue::of_string(tc["chat_template"].get<std::string>()));
  } else if (fs::is_regular_file(folder / "chat_template.jinja")) {
    out.emplace_back(
        "tokenizer.chat_template",
        GgufValue::of_string(read_config_file((folder / "chat_template.jinja").string())));
  }
}

}  // namespace tensorferry
