#include "verify/config_reader.h"

#include <cmath>

#include "core/error.h"
#include "core/input_file.h"
#include "core/json_input.h"
#include "core/limits.h"

namespace tensorferry::verify {
namespace {

using nlohmann::json;

// Sizes beyond this are not a model verify can run; refusing them early keeps a hostile config
// from asking for an absurd allocation.
constexpr int64_t kMaxDimension = int64_t{1} << 24;

}  // namespace

ConfigReader ConfigReader::load(const std::string& file) {
  json doc = parse_json_input(read_input_text(file, kMaxConfigFileBytes, "the config"), file);
  if (!doc.is_object()) throw_bad_input(file, std::nullopt, "config is not a JSON object");
  return ConfigReader(std::move(doc), file);
}

int64_t ConfigReader::integer(std::initializer_list<const char*> keys,
                              std::optional<int64_t> fallback, int64_t min) const {
  for (const char* key : keys) {
    if (!doc_.contains(key)) continue;
    const json& v = doc_[key];
    if (!v.is_number_integer())
      throw_bad_input(file_, std::nullopt, quoted(key) + " is not an integer");
    const int64_t value = v.get<int64_t>();
    if (value < min || value > kMaxDimension)
      throw_bad_input(file_, std::nullopt,
                      quoted(key) + " = " + std::to_string(value) + " is out of range [" +
                          std::to_string(min) + ", " + std::to_string(kMaxDimension) + "]");
    return value;
  }
  if (!fallback) throw_bad_input(file_, std::nullopt, "missing " + quoted(*keys.begin()));
  return *fallback;
}

double ConfigReader::number(const char* key, double fallback) const {
  if (!doc_.contains(key)) return fallback;
  const json& v = doc_[key];
  if (!v.is_number()) throw_bad_input(file_, std::nullopt, quoted(key) + " is not a number");
  const double value = v.get<double>();
  if (!(value >= 0) || !std::isfinite(value))
    throw_bad_input(file_, std::nullopt, quoted(key) + " must be a finite number >= 0");
  return value;
}

std::string ConfigReader::text(const char* key, const std::string& fallback) const {
  if (!doc_.contains(key) || doc_[key].is_null()) return fallback;
  if (!doc_[key].is_string())
    throw_bad_input(file_, std::nullopt, quoted(key) + " is not a string");
  return doc_[key].get<std::string>();
}

bool ConfigReader::boolean(const char* key, bool fallback) const {
  if (!doc_.contains(key) || doc_[key].is_null()) return fallback;
  if (!doc_[key].is_boolean())
    throw_bad_input(file_, std::nullopt, quoted(key) + " is not true/false");
  return doc_[key].get<bool>();
}

std::optional<ConfigReader> ConfigReader::object(const char* key) const {
  if (is_null_or_absent(key)) return std::nullopt;
  if (!doc_[key].is_object())
    throw_bad_input(file_, std::nullopt, quoted(key) + " is not an object");
  return ConfigReader(doc_[key], file_, prefix_ + key + ".");
}

void ConfigReader::unsupported(const std::string& what) const {
  throw_bad_input(file_, std::nullopt, "verify cannot run this model: " + what);
}

Activation ConfigReader::activation(const std::string& name) const {
  auto act = activation_from_name(name);
  if (!act) unsupported("activation \"" + name + "\"");
  return *act;
}

void ConfigReader::check_heads(const ModelConfig& c) const {
  if (c.hidden % c.heads != 0)
    unsupported("width " + std::to_string(c.hidden) + " is not a multiple of the " +
                std::to_string(c.heads) + " heads");
}

void ConfigReader::expect_text(const char* key, const std::string& expected) const {
  const std::string value = text(key, expected);
  if (value != expected) unsupported(std::string(key) + " \"" + value + "\" is not " + expected);
}

}  // namespace tensorferry::verify
