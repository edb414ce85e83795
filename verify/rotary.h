// Rotary position embeddings as transformers applies them to Llama, Mistral and Qwen2 queries
// and keys: each head's first half of dimensions d is paired with d + head_dim/2 ("rotate_half"),
// and the pair rotated by the angle position · inv_freq[d].
//
// transformers computes inv_freq and the cosines and sines in float32 even when the model runs in
// float64 (the rotary module casts to float and disables autocast), so the table is built in
// float32 the same way; everything after it is double like the rest of the reference.
#pragma once

#include <cstdint>
#include <vector>

#include "verify/kernels.h"
#include "verify/model_config.h"

namespace tensorferry::verify {

// inv_freq[d] for d < head_dim/2, after the config's rope_scaling (linear, llama3).
std::vector<float> rotary_inverse_frequencies(const RopeConfig& rope, int64_t head_dim);

// cos and sin of every row's angles: [rows, head_dim/2] each.
struct RotaryTable {
  Matrix cos, sin;
};
RotaryTable rotary_table(const std::vector<float>& inv_freq, const std::vector<int64_t>& positions);

// Rotates every head of x ([rows, heads · head_dim]) by its row's angles.
void apply_rotary(Matrix& x, const RotaryTable& table, int64_t head_dim);

}  // namespace tensorferry::verify
