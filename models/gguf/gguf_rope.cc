#include "models/gguf/gguf_rope.h"

#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "core/error.h"
#include "models/gguf/gguf_arch.h"

namespace tensorferry {
namespace {

// Python's 2 * math.pi, which torch rounds to f32 when it multiplies an f32 tensor by it.
constexpr double kTwoPi = 6.283185307179586;

// The wavelength of every rotary frequency, in the converter's f32 steps:
// freqs = 1.0 / (base ** (arange(0, dim, 2) / dim)); wavelen = 2 * math.pi / freq. torch computes
// `scalar / tensor` as reciprocal(tensor) * scalar, and base ** x as f32 pow, which is the
// correctly rounded pow of the f32 operands (glibc's powf; here pow in double, rounded).
std::vector<float> wavelengths(float base, uint64_t dim) {
  std::vector<float> out;
  const auto fdim = static_cast<float>(dim);
  for (uint64_t i = 0; i < dim; i += 2) {
    const float exponent = static_cast<float>(i) / fdim;
    const auto power =
        static_cast<float>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
    const float freq = 1.0F / power;
    out.push_back((1.0F / freq) * static_cast<float>(kTwoPi));
  }
  return out;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

}  // namespace

std::vector<float> llama3_rope_factors(const Llama3Rope& r) {
  // Python floats meet f32 tensors: torch rounds each scalar to f32 first.
  const auto old = static_cast<float>(r.original_context);
  const auto low_wavelen = static_cast<float>(r.original_context / r.low_freq_factor);
  const auto high_wavelen = static_cast<float>(r.original_context / r.high_freq_factor);
  const auto low = static_cast<float>(r.low_freq_factor);
  const auto span = static_cast<float>(r.high_freq_factor - r.low_freq_factor);
  const auto factor = static_cast<float>(r.factor);
  std::vector<float> out;
  for (const float wavelen : wavelengths(r.base, r.dim)) {
    if (wavelen < high_wavelen) {
      out.push_back(1.0F);
    } else if (wavelen > low_wavelen) {
      out.push_back(factor);
    } else {
      const float smooth = ((1.0F / wavelen) * old - low) / span;
      out.push_back(1.0F / ((1.0F - smooth) / factor + smooth));
    }
  }
  return out;
}

std::vector<float> llama3_rope_factors_of(const nlohmann::json& hf) {
  const auto scaling = hf.find("rope_scaling");
  if (scaling == hf.end() || !scaling->is_object() || scaling->empty()) return {};
  std::string type = scaling->value("rope_type", "");
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type != "llama3") return {};
  auto number = [](const nlohmann::json& j, const char* key, double fallback) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
  };
  Llama3Rope r;
  r.base = static_cast<float>(number(hf, "rope_theta", 10000.0));
  r.dim = hf.contains("head_dim") && hf["head_dim"].is_number_unsigned()
              ? hf["head_dim"].get<uint64_t>()
              : hf.at("hidden_size").get<uint64_t>() / hf.at("num_attention_heads").get<uint64_t>();
  r.factor = number(*scaling, "factor", 8.0);
  r.low_freq_factor = number(*scaling, "low_freq_factor", 1.0);
  r.high_freq_factor = number(*scaling, "high_freq_factor", 4.0);
  r.original_context = number(hf, "original_max_position_embeddings", 8192.0);
  return llama3_rope_factors(r);
}

nlohmann::json llama3_rope_scaling(std::span<const float> factors, float base, uint64_t dim,
                                   const std::string& file) {
  const std::string name(kGgufRopeFreqs);
  if (factors.empty() || factors.size() != (dim + 1) / 2)
    throw_bad_input(file, std::nullopt,
                    "GGUF: " + std::to_string(factors.size()) + " values, the rotary width " +
                        std::to_string(dim) + " has " + std::to_string((dim + 1) / 2) +
                        " frequencies",
                    name);
  // Candidates, most likely first: the lowest frequency's divisor (the whole factor, unless
  // even it is blended) or a factor Llama 3.x uses, with the converter's original context 8192;
  // then contexts solved from each blended value v = 1 / ((1 - s) / factor + s),
  // s = (context / wavelength - 1) / 3; then powers of two.
  std::vector<std::pair<double, double>> candidates;
  const double last = factors.back();
  for (const double f : {last, 8.0, 32.0, 16.0, 4.0, 2.0}) candidates.emplace_back(f, 8192);
  const std::vector<float> wavelen = wavelengths(base, dim);
  for (size_t j = 0; j < factors.size(); ++j) {
    const double v = factors[j];
    if (v == 1.0 || v == last || last == 1.0) continue;
    const double s = (1 / v - 1 / last) / (1 - 1 / last);
    const double context = std::round(wavelen[j] * (3 * s + 1));
    if (context >= 1 && context <= 1e12) candidates.emplace_back(last, context);  // finite, > 0
  }
  for (double c = 256; c <= 16777216; c *= 2) candidates.emplace_back(last, c);
  Llama3Rope r;
  r.base = base;
  r.dim = dim;
  for (const auto& [factor, context] : candidates) {
    r.factor = factor;
    r.original_context = context;
    if (!same_bits(llama3_rope_factors(r), factors)) continue;
    return {{"factor", shortest_float(static_cast<float>(factor))},
            {"high_freq_factor", 4.0},
            {"low_freq_factor", 1.0},
            {"original_max_position_embeddings", static_cast<uint64_t>(context)},
            {"rope_type", "llama3"}};
  }
  throw_bad_input(file, std::nullopt,
                  "GGUF: the rotary divisors match no llama3 rope_scaling (low_freq_factor 1, "
                  "high_freq_factor 4, factor " +
                      std::to_string(last) + ")",
                  name);
}

}  // namespace tensorferry
