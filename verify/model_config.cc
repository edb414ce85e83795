#include "verify/model_config.h"

#include <nlohmann/json.hpp>

#include "verify/config_reader.h"
#include "verify/family.h"

namespace tensorferry::verify {

std::optional<Activation> activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::kGeluErf;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (name == "gelu_fast") return Activation::kGeluFast;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  if (name == "relu") return Activation::kRelu;
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "linear") return Activation::kLinear;
  return std::nullopt;
}

std::string describe_rope(const RopeConfig& rope) {
  auto number = [](double v) { return nlohmann::json(v).dump(); };
  std::string out = "theta " + number(rope.theta);
  if (rope.scaling == RopeScaling::kLinear) out += ", linear scaling x" + number(rope.factor);
  if (rope.scaling == RopeScaling::kLlama3)
    out += ", llama3 scaling x" + number(rope.factor) + " (low " + number(rope.low_freq_factor) +
           ", high " + number(rope.high_freq_factor) + ", original " +
           std::to_string(rope.original_max_positions) + " positions)";
  return out;
}

ModelConfig read_model_config(const Family& family, Convention convention,
                              const std::string& file) {
  ModelConfig c = family.read_config(convention, ConfigReader::load(file));
  c.family = &family;
  c.file = file;
  return c;
}

}  // namespace tensorferry::verify
