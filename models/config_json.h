// Reading and writing the JSON config files of model folders (config.json, hparams.json,
// bert_config.json) with errors that name the file and the key.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tensorferry {

// Parses `text`; throws kBadInput naming `file` when it is not a JSON object.
nlohmann::json parse_config_json(const std::string& text, const std::string& file);

// A positive integer at `key` (also accepts an integral float such as 768.0, which some tools
// write); nullopt when absent or null. Throws kBadInput naming file and key for anything else.
std::optional<uint64_t> config_uint(const nlohmann::json& config, const std::string& key,
                                    const std::string& file);
uint64_t require_config_uint(const nlohmann::json& config, const std::string& key,
                             const std::string& file);
std::optional<double> config_number(const nlohmann::json& config, const std::string& key,
                                    const std::string& file);
std::optional<std::string> config_string(const nlohmann::json& config, const std::string& key,
                                         const std::string& file);
// Values every model of a family must have right, whatever the target: a LayerNorm epsilon that is
// a finite number >= 0, an activation transformers knows (ACT2FN). Throw kBadInput naming the
// file and the key. The value, or `fallback` when the key is absent or null.
double config_epsilon(const nlohmann::json& config, const std::string& key, double fallback,
                      const std::string& file);
std::string config_activation(const nlohmann::json& config, const std::string& key,
                              const std::string& fallback, const std::string& file);
bool config_bool(const nlohmann::json& config, const std::string& key, bool fallback);

// The classifier labels of an HF config: id2label's size, else num_labels; nullopt when neither
// says (a head's tensors tell then).
std::optional<uint64_t> hf_label_count(const nlohmann::json& config, const std::string& file);
// Writes `count` labels LABEL_0.. as id2label / label2id, as transformers names unnamed labels.
void set_hf_labels(nlohmann::json& config, uint64_t count);

// `defaults` with every key of `config` laid over it.
nlohmann::json with_defaults(const nlohmann::json& config, const nlohmann::json& defaults);

// The way transformers (and Google's BertConfig) serialise configs: two-space indent, sorted
// keys, trailing newline.
std::string dump_sorted_json(const nlohmann::json& config);

// Two floats equal to the precision a JSON round trip keeps.
bool same_float(double a, double b);

}  // namespace tensorferry
