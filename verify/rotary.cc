#include "verify/rotary.h"

#include <cmath>
#include <numbers>

namespace tensorferry::verify {
namespace {

// modeling_rope_utils._compute_llama3_parameters: wavelengths longer than the original context
// / low_freq_factor are slowed down by `factor`, shorter than context / high_freq_factor kept,
// and the ones between blended smoothly. float32 as torch evaluates it.
void apply_llama3(const RopeConfig& rope, std::vector<float>& inv_freq) {
  const auto factor = static_cast<float>(rope.factor);
  const auto low = static_cast<float>(rope.low_freq_factor);
  const auto high = static_cast<float>(rope.high_freq_factor);
  const auto context = static_cast<float>(rope.original_max_positions);
  const double low_freq_wavelen =
      static_cast<double>(rope.original_max_positions) / rope.low_freq_factor;
  const double high_freq_wavelen =
      static_cast<double>(rope.original_max_positions) / rope.high_freq_factor;
  for (float& f : inv_freq) {
    const float wavelen = static_cast<float>(2 * std::numbers::pi) / f;
    const float scaled = wavelen > low_freq_wavelen ? f / factor : f;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    if (medium) {
      const float smooth = (context / wavelen - low) / (high - low);
      f = (1 - smooth) * scaled / factor + smooth * scaled;
    } else {
      f = scaled;
    }
  }
}

}  // namespace

std::vector<float> rotary_inverse_frequencies(const RopeConfig& rope, int64_t head_dim) {
  // 1 / theta^(2d / head_dim), as _compute_default_rope_parameters writes it.
  std::vector<float> inv_freq(static_cast<size_t>(head_dim / 2));
  const auto theta = static_cast<float>(rope.theta);
  for (size_t d = 0; d < inv_freq.size(); ++d) {
    const float exponent = static_cast<float>(2 * d) / static_cast<float>(head_dim);
    inv_freq[d] = 1.0f / std::pow(theta, exponent);
  }
  if (rope.scaling == RopeScaling::kLinear)
    for (float& f : inv_freq) f /= static_cast<float>(rope.factor);
  if (rope.scaling == RopeScaling::kLlama3) apply_llama3(rope, inv_freq);
  return inv_freq;
}

RotaryTable rotary_table(const std::vector<float>& inv_freq,
                         const std::vector<int64_t>& positions) {
  const auto half = static_cast<int64_t>(inv_freq.size());
  RotaryTable table{Matrix(static_cast<int64_t>(positions.size()), half),
                    Matrix(static_cast<int64_t>(positions.size()), half)};
  for (size_t r = 0; r < positions.size(); ++r)
    for (int64_t d = 0; d < half; ++d) {
      const float angle = static_cast<float>(positions[r]) * inv_freq[static_cast<size_t>(d)];
      table.cos.row(static_cast<int64_t>(r))[d] = static_cast<float>(std::cos(double{angle}));
      table.sin.row(static_cast<int64_t>(r))[d] = static_cast<float>(std::sin(double{angle}));
    }
  return table;
}

void apply_rotary(Matrix& x, const RotaryTable& table, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  for (int64_t r = 0; r < x.rows; ++r) {
    const double* cos = table.cos.row(r);
    const double* sin = table.sin.row(r);
    for (int64_t head = 0; head + head_dim <= x.cols; head += head_dim) {
      double* v = x.row(r) + head;
      for (int64_t d = 0; d < half; ++d) {
        const double a = v[d], b = v[d + half];
        v[d] = a * cos[d] - b * sin[d];
        v[d + half] = b * cos[d] + a * sin[d];
      }
    }
  }
}

}  // namespace tensorferry::verify
