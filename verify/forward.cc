#include "verify/forward.h"

#include <algorithm>

#include "core/error.h"
#include "verify/blocks.h"
#include "verify/family.h"

namespace tensorferry::verify {

void check_sequences(const Model& model, const std::vector<TokenSequence>& sequences) {
  for (size_t s = 0; s < sequences.size(); ++s) {
    const auto& seq = sequences[s];
    const std::string which = "sequence " + std::to_string(s + 1);
    if (seq.tokens.empty()) throw_usage(which + " is empty");
    const int64_t usable = model.config.max_positions - model.config.position_offset;
    if (static_cast<int64_t>(seq.tokens.size()) > usable)
      throw_usage(which + " has " + std::to_string(seq.tokens.size()) +
                  " tokens, more than the model's " + std::to_string(usable) + " positions");
    for (int64_t t : seq.tokens)
      if (t < 0 || t >= model.config.vocab_size)
        throw_usage(which + ": token " + std::to_string(t) + " is outside the vocabulary of " +
                    std::to_string(model.config.vocab_size) + " (" + model.config.file + ")");
    if (!seq.token_types.empty()) {
      if (model.config.type_vocab_size == 0)
        throw_usage("token types are not an input of " + std::string(model.family->name) +
                    " models");
      if (seq.token_types.size() != seq.tokens.size())
        throw_usage(which + ": " + std::to_string(seq.token_types.size()) + " token types for " +
                    std::to_string(seq.tokens.size()) + " tokens");
      for (int64_t t : seq.token_types)
        if (t < 0 || t >= model.config.type_vocab_size)
          throw_usage(which + ": token type " + std::to_string(t) + " is outside the " +
                      std::to_string(model.config.type_vocab_size) + " types of the model");
    }
  }
}

ForwardResult run_forward(Model& model, const std::vector<TokenSequence>& sequences,
                          const StageObserver& observe) {
  check_sequences(model, sequences);
  Pass pass(model, sequences, observe);
  model.family->run(pass);
  ForwardResult result = std::move(pass.result);
  result.unused_weights = model.weights->unused_weights();
  return result;
}

std::vector<TokenSequence> default_sequences(const ModelConfig& a, const ModelConfig& b) {
  const int64_t vocab = std::min(a.vocab_size, b.vocab_size);
  const int64_t positions =
      std::min(a.max_positions - a.position_offset, b.max_positions - b.position_offset);
  const int64_t types = std::min(a.type_vocab_size, b.type_vocab_size);
  const bool segments = types > 0;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state] {  // splitmix64: fixed across platforms and runs
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  std::vector<TokenSequence> out;
  for (int64_t length : {7, 19, 40}) {
    TokenSequence seq;
    const int64_t n = std::max<int64_t>(1, std::min(length, positions));
    for (int64_t i = 0; i < n; ++i)
      seq.tokens.push_back(static_cast<int64_t>(next() % static_cast<uint64_t>(vocab)));
    if (segments) {
      seq.token_types.assign(static_cast<size_t>(n), 0);
      if (types >= 2)
        for (int64_t i = n / 2; i < n; ++i) seq.token_types[static_cast<size_t>(i)] = 1;
    }
    out.push_back(std::move(seq));
  }
  // The ends of the vocabulary, where a truncated or shifted table shows first.
  out[1].tokens[0] = 0;
  out[1].tokens[std::min<size_t>(1, out[1].tokens.size() - 1)] = vocab - 1;
  return out;
}

std::vector<std::string> stage_names(const ModelConfig& config) {
  std::vector<std::string> names = {"embeddings"};
  for (int64_t i = 0; i < config.layers; ++i) {
    names.push_back("layer " + std::to_string(i) + " attention");
    names.push_back("layer " + std::to_string(i));
  }
  names.insert(names.end(), config.family->output_stages.begin(),
               config.family->output_stages.end());
  return names;
}

}  // namespace tensorferry::verify
