// A model config file (JSON) read the way the frameworks read theirs: keys with attribute-map
// aliases and class defaults, every value checked before it is used, and errors that name the
// file and the key. Each family's config reading (models/<family>/<family>_verify.cc) uses it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "verify/model_config.h"

namespace tensorferry::verify {

class ConfigReader {
 public:
  // `prefix` names a nested object in messages ("rope_scaling.").
  ConfigReader(nlohmann::json doc, std::string file, std::string prefix = "")
      : doc_(std::move(doc)), file_(std::move(file)), prefix_(std::move(prefix)) {}
  // Reads and parses `file`; Error(kBadInput) when it is not a JSON object.
  static ConfigReader load(const std::string& file);

  // The first of `keys` present (HF accepts attribute_map aliases), else `fallback`; a missing
  // key without fallback is an error. Values outside [min, 2^24] are refused: no model verify
  // can run has them, and a hostile config must not ask for an absurd allocation.
  int64_t integer(std::initializer_list<const char*> keys, std::optional<int64_t> fallback,
                  int64_t min = 1) const;
  double number(const char* key, double fallback) const;  // finite and >= 0
  std::string text(const char* key, const std::string& fallback) const;
  bool boolean(const char* key, bool fallback) const;
  bool has(const char* key) const { return doc_.contains(key); }
  bool is_null_or_absent(const char* key) const {
    return !doc_.contains(key) || doc_[key].is_null();
  }
  // The object at `key`, read with the same checks; nullopt when absent or null.
  std::optional<ConfigReader> object(const char* key) const;

  [[noreturn]] void unsupported(const std::string& what) const;
  // The activation `name` with HF semantics; unsupported() when verify does not know it.
  Activation activation(const std::string& name) const;
  // unsupported() unless the width splits evenly into the heads.
  void check_heads(const ModelConfig& c) const;
  // unsupported() unless `key` (default `expected`) is `expected`: "model_type" of the family.
  void expect_text(const char* key, const std::string& expected) const;

  const std::string& file() const { return file_; }

 private:
  std::string quoted(const char* key) const { return "\"" + prefix_ + key + "\""; }

  nlohmann::json doc_;
  std::string file_;
  std::string prefix_;
};

}  // namespace tensorferry::verify
