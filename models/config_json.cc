#include "models/config_json.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/json_input.h"

namespace tensorferry {

nlohmann::json parse_config_json(const std::string& text, const std::string& file) {
  nlohmann::json config = parse_json_input(text, file);
  if (!config.is_object()) throw_bad_input(file, std::nullopt, "expected a JSON object");
  return config;
}

std::optional<uint64_t> config_uint(const nlohmann::json& config, const std::string& key,
                                    const std::string& file) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer() && it->get<int64_t>() >= 0) return it->get<uint64_t>();
  if (it->is_number_float()) {
    const double v = it->get<double>();
    if (v >= 0 && v < 1e15 && std::floor(v) == v) return static_cast<uint64_t>(v);
  }
  throw_bad_input(file, std::nullopt,
                  "\"" + key + "\" must be a non-negative integer, not " + it->dump());
}

uint64_t require_config_uint(const nlohmann::json& config, const std::string& key,
                             const std::string& file) {
  auto v = config_uint(config, key, file);
  if (!v) throw_bad_input(file, std::nullopt, "missing \"" + key + "\"");
  if (*v == 0) throw_bad_input(file, std::nullopt, "\"" + key + "\" must not be 0");
  return *v;
}

std::optional<double> config_number(const nlohmann::json& config, const std::string& key,
                                    const std::string& file) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw_bad_input(file, std::nullopt, "\"" + key + "\" must be a number");
  return it->get<double>();
}

std::optional<std::string> config_string(const nlohmann::json& config, const std::string& key,
                                         const std::string& file) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw_bad_input(file, std::nullopt, "\"" + key + "\" must be a string");
  return it->get<std::string>();
}

double config_epsilon(const nlohmann::json& config, const std::string& key, double fallback,
                      const std::string& file) {
  const double value = config_number(config, key, file).value_or(fallback);
  if (!std::isfinite(value) || value < 0)
    throw_bad_input(file, std::nullopt,
                    "\"" + key + "\" is " + nlohmann::json(value).dump() +
                        "; a LayerNorm epsilon is a finite number >= 0");
  return value;
}

std::string config_activation(const nlohmann::json& config, const std::string& key,
                              const std::string& fallback, const std::string& file) {
  // transformers.activations.ACT2FN (4.57): the names a config may give.
  static const char* kKnown[] = {"gelu",
                                 "gelu_10",
                                 "gelu_accurate",
                                 "gelu_fast",
                                 "gelu_new",
                                 "gelu_python",
                                 "gelu_pytorch_tanh",
                                 "laplace",
                                 "leaky_relu",
                                 "linear",
                                 "mish",
                                 "prelu",
                                 "quick_gelu",
                                 "relu",
                                 "relu2",
                                 "relu6",
                                 "sigmoid",
                                 "silu",
                                 "swish",
                                 "tanh",
                                 "xielu"};
  const std::string name = config_string(config, key, file).value_or(fallback);
  if (std::none_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return name == k; }))
    throw_bad_input(
        file, std::nullopt,
        "\"" + key + "\" is \"" + name + "\", which is not an activation transformers knows");
  return name;
}

bool config_bool(const nlohmann::json& config, const std::string& key, bool fallback) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_boolean()) return fallback;
  return it->get<bool>();
}

std::optional<uint64_t> hf_label_count(const nlohmann::json& config, const std::string& file) {
  if (auto it = config.find("id2label"); it != config.end() && it->is_object() && !it->empty())
    return it->size();
  if (auto n = config_uint(config, "num_labels", file); n && *n > 0) return n;
  return std::nullopt;
}

void set_hf_labels(nlohmann::json& config, uint64_t count) {
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (uint64_t i = 0; i < count; ++i) {
    id2label[std::to_string(i)] = "LABEL_" + std::to_string(i);
    label2id["LABEL_" + std::to_string(i)] = i;
  }
  config["id2label"] = id2label;
  config["label2id"] = label2id;
}

nlohmann::json with_defaults(const nlohmann::json& config, const nlohmann::json& defaults) {
  nlohmann::json out = defaults;
  for (auto it = config.begin(); it != config.end(); ++it) out[it.key()] = it.value();
  return out;
}

std::string dump_sorted_json(const nlohmann::json& config) { return config.dump(2) + "\n"; }

bool same_float(double a, double b) {
  return std::fabs(a - b) <= 1e-6 * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace tensorferry
