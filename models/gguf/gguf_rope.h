// Llama 3 rotary scaling in GGUF. An HF config with rope_scaling.rope_type "llama3" scales each
// rotary frequency by a factor (1 for high frequencies, `factor` for low ones, a smooth blend in
// between); llama.cpp's converter writes those per-frequency divisors as the f32 tensor
// rope_freqs.weight (LlamaModel.generate_extra_tensors) and no metadata key, and llama.cpp
// divides each frequency by them. Reading GGUF back, the rope_scaling object is rebuilt from the
// tensor.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <vector>

namespace tensorferry {

inline constexpr std::string_view kGgufRopeFreqs = "rope_freqs.weight";

struct Llama3Rope {
  float base = 10000;  // rope_theta
  uint64_t dim = 0;    // rotary width (head_dim): dim / 2 frequencies
  // rope_scaling's values, as the JSON doubles they are (torch rounds each where it uses it).
  double factor = 8, low_freq_factor = 1, high_freq_factor = 4;
  double original_context = 8192;
};

// The divisors exactly as the converter computes them (torch float32 arithmetic, step by step).
std::vector<float> llama3_rope_factors(const Llama3Rope& rope);

// For an HF llama config: rope_freqs.weight's values, or nothing when rope_scaling is not llama3.
// Like the converter, the original context is the config's top-level
// original_max_position_embeddings (8192 when absent), not rope_scaling's.
std::vector<float> llama3_rope_factors_of(const nlohmann::json& hf);

// The rope_scaling object whose divisors are bit-identical to `factors` (low_freq_factor 1 and
// high_freq_factor 4, as in every Llama 3; factor and original context found from the values,
// Llama 3.x's own settings first where several reproduce them, as with a narrow rotary width).
// Throws kBadInput naming the tensor when no such object exists.
nlohmann::json llama3_rope_scaling(std::span<const float> factors, float base, uint64_t dim,
                                   const std::string& file);

}  // namespace tensorferry
