// GPT-2 configs: HF config.json <-> OpenAI hparams.json.
//
// OpenAI's code loads hparams.json with HParams.override_from_dict over five defaults; that call
// raises on any unknown key and type-checks the values, so hparams.json gets exactly the five
// integer keys. Everything else of the architecture is hard-coded in OpenAI's model.py (tanh
// GELU, LayerNorm epsilon 1e-5, MLP width 4*n_embd, LM head tied to wte), which is what
// check_expressible enforces before anything is written.
#include <cmath>

#include "core/error.h"
#include "models/config_json.h"
#include "models/gpt2/gpt2.h"

namespace tensorferry {

namespace {

constexpr const char* kEndOfText = "<|endoftext|>";

// GPT2Config() as transformers 4.57.6 serialises it, minus the size keys that every config sets.
const nlohmann::json& hf_defaults() {
  static const nlohmann::json defaults = {
      {"activation_function", "gelu_new"},
      {"attn_pdrop", 0.1},
      {"bos_token_id", 50256},
      {"embd_pdrop", 0.1},
      {"eos_token_id", 50256},
      {"initializer_range", 0.02},
      {"layer_norm_epsilon", 1e-05},
      {"model_type", "gpt2"},
      {"n_embd", 768},
      {"n_head", 12},
      {"n_inner", nullptr},
      {"n_layer", 12},
      {"n_positions", 1024},
      {"reorder_and_upcast_attn", false},
      {"resid_pdrop", 0.1},
      {"scale_attn_by_inverse_layer_idx", false},
      {"scale_attn_weights", true},
      {"summary_activation", nullptr},
      {"summary_first_dropout", 0.1},
      {"summary_proj_to_labels", true},
      {"summary_type", "cls_index"},
      {"summary_use_proj", true},
      {"use_cache", true},
      {"vocab_size", 50257},
  };
  return defaults;
}

// GPT2Config.attribute_map: the generic names transformers also accepts.
void apply_attribute_map(nlohmann::json& config) {
  static const std::pair<const char*, const char*> kMap[] = {
      {"hidden_size", "n_embd"},
      {"max_position_embeddings", "n_positions"},
      {"num_attention_heads", "n_head"},
      {"num_hidden_layers", "n_layer"},
  };
  for (const auto& [alias, key] : kMap)
    if (config.contains(alias) && !config.contains(key)) {
      config[key] = config[alias];
      config.erase(alias);
    }
}

ModelConfig finish(nlohmann::json hf, const std::string& file) {
  ModelConfig config;
  const uint64_t vocab = require_config_uint(hf, "vocab_size", file);
  const uint64_t positions = require_config_uint(hf, "n_positions", file);
  const uint64_t embd = require_config_uint(hf, "n_embd", file);
  const uint64_t heads = require_config_uint(hf, "n_head", file);
  const uint64_t layers = require_config_uint(hf, "n_layer", file);
  // Checked here, for every target, so that no conversion publishes a model no framework runs.
  config_epsilon(hf, "layer_norm_epsilon", 1e-5, file);
  config_activation(hf, "activation_function", "gelu_new", file);
  if (embd % heads != 0)
    throw_bad_input(
        file, std::nullopt,
        "n_embd " + std::to_string(embd) + " is not a multiple of n_head " + std::to_string(heads));
  if (layers > 100000 || embd > (1u << 20) || vocab > (1u << 26) || positions > (1u << 24))
    throw_bad_input(file, std::nullopt, "implausibly large model dimensions");
  const uint64_t inner = config_uint(hf, "n_inner", file).value_or(4 * embd);
  config.symbols = {{'V', vocab}, {'P', positions}, {'E', embd},
                    {'I', inner}, {'L', layers},    {'N', heads}};
  config.hf = std::move(hf);
  return config;
}

}  // namespace

bool Gpt2Family::matches_hf_config(const nlohmann::json& config) const {
  if (auto it = config.find("model_type"); it != config.end() && it->is_string())
    return *it == "gpt2";
  if (auto it = config.find("architectures"); it != config.end() && it->is_array())
    for (const auto& a : *it)
      if (a.is_string() && a.get<std::string>().starts_with("GPT2")) return true;
  return config.contains("n_embd") && config.contains("n_layer");
}

ModelConfig Gpt2Family::read_config(Convention c, const std::string& text,
                                    const std::string& file) const {
  nlohmann::json source = parse_config_json(text, file);
  if (c == Convention::kOpenAiTf1) {
    // OpenAI's defaults (model.py default_hparams) for absent keys; n_vocab must be given.
    const uint64_t vocab = require_config_uint(source, "n_vocab", file);
    const uint64_t ctx = config_uint(source, "n_ctx", file).value_or(1024);
    const uint64_t embd = config_uint(source, "n_embd", file).value_or(768);
    const uint64_t heads = config_uint(source, "n_head", file).value_or(12);
    const uint64_t layers = config_uint(source, "n_layer", file).value_or(12);
    nlohmann::json hf = hf_defaults();
    hf["architectures"] = {"GPT2LMHeadModel"};
    hf["vocab_size"] = vocab;
    hf["n_positions"] = ctx;
    hf["n_ctx"] = ctx;  // llama.cpp's GPT-2 converter reads n_ctx from config.json
    hf["n_embd"] = embd;
    hf["n_head"] = heads;
    hf["n_layer"] = layers;
    // OpenAI's published vocabulary ends with <|endoftext|>, which GPT-2 uses as bos and eos;
    // complete_config replaces this with its id in the folder's encoder.json.
    hf["bos_token_id"] = vocab - 1;
    hf["eos_token_id"] = vocab - 1;
    return finish(std::move(hf), file);
  }
  apply_attribute_map(source);
  return finish(with_defaults(source, hf_defaults()), file);
}

std::vector<std::string> Gpt2Family::complete_config(Convention c, ModelConfig& config,
                                                     const FolderFileReader& read) const {
  if (c != Convention::kOpenAiTf1) return {};
  const std::optional<FolderFile> encoder = read("encoder.json");
  if (!encoder)
    return {
        "no encoder.json: bos_token_id/eos_token_id set to n_vocab - 1, where OpenAI's "
        "vocabulary has <|endoftext|>"};
  // OpenAI's sample.py starts and ends text with encoder['<|endoftext|>'], so the id is the
  // vocabulary's, wherever the token sits.
  const nlohmann::json tokens = parse_config_json(encoder->text, encoder->path);
  const std::optional<uint64_t> id = config_uint(tokens, kEndOfText, encoder->path);
  if (!id)
    return {"encoder.json has no <|endoftext|>: bos_token_id/eos_token_id set to n_vocab - 1"};
  if (*id >= config.symbols.at('V'))
    throw_bad_input(encoder->path, std::nullopt,
                    "gives <|endoftext|> the id " + std::to_string(*id) + " but n_vocab is " +
                        std::to_string(config.symbols.at('V')));
  config.hf["bos_token_id"] = *id;
  config.hf["eos_token_id"] = *id;
  return {};
}

std::vector<GeneratedFile> Gpt2Family::generated_files(Convention from, Convention to,
                                                       const ModelConfig& config) const {
  if (from != Convention::kOpenAiTf1 || !is_hf(to)) return {};
  // What save_pretrained writes for a GPT-2 whose generation settings come from its config.
  const nlohmann::json generation = {{"_from_model_config", true},
                                     {"bos_token_id", config.hf.at("bos_token_id")},
                                     {"eos_token_id", config.hf.at("eos_token_id")}};
  return {{"generation_config.json", dump_sorted_json(generation), "hparams.json, encoder.json"}};
}

bool Gpt2Family::group_enabled(const ModelConfig& config, std::string_view group) const {
  if (group == "untied_head") return !config_bool(config.hf, "tie_word_embeddings", true);
  return true;
}

std::vector<std::string> Gpt2Family::check_expressible(
    Convention target, const ModelConfig& config, const std::vector<std::string>& groups) const {
  const nlohmann::json& hf = config.hf;
  const std::string file = "config";
  auto refuse = [&](const std::string& why) {
    throw Error(ErrorKind::kUsage, std::string(convention_name(target)) +
                                       " cannot express this "
                                       "model: " +
                                       why);
  };
  const bool untied = std::find(groups.begin(), groups.end(), "untied_head") != groups.end();
  if (untied && target != Convention::kHfPyTorch)
    refuse("its LM head (lm_head.weight) is not tied to wte, and " +
           std::string(target == Convention::kHfTf2 ? "TFGPT2LMHeadModel" : "OpenAI's model.py") +
           " always computes logits with wte");
  if (config_bool(hf, "add_cross_attention", false) && target != Convention::kHfPyTorch &&
      target != Convention::kHfTf2)
    refuse("it has cross-attention (add_cross_attention true)");
  if (target != Convention::kOpenAiTf1) return {};

  const std::string act = config_activation(hf, "activation_function", "gelu_new", file);
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    refuse("activation_function is \"" + act +
           "\" but OpenAI's model.py only has the tanh "
           "approximation of GELU (HF \"gelu_new\")");
  const double eps = config_epsilon(hf, "layer_norm_epsilon", 1e-5, file);
  if (!same_float(eps, 1e-5))
    refuse("layer_norm_epsilon is " + nlohmann::json(eps).dump() +
           " but OpenAI's model.py hard-codes 1e-5");
  const uint64_t embd = config.symbols.at('E');
  if (config.symbols.at('I') != 4 * embd)
    refuse("n_inner is " + std::to_string(config.symbols.at('I')) +
           " but OpenAI's model.py hard-codes 4*n_embd = " + std::to_string(4 * embd));
  if (!config_bool(hf, "scale_attn_weights", true))
    refuse("scale_attn_weights is false but OpenAI's model.py always scales by 1/sqrt(head_dim)");
  if (config_bool(hf, "scale_attn_by_inverse_layer_idx", false))
    refuse("scale_attn_by_inverse_layer_idx is true; OpenAI's model.py has no such scaling");
  std::vector<std::string> notes;
  if (act == "gelu_pytorch_tanh")
    notes.push_back("activation gelu_pytorch_tanh is the same tanh GELU as OpenAI's gelu");
  return notes;
}

std::string Gpt2Family::write_config(Convention target, const ModelConfig& config,
                                     const HfClass* hf_class) const {
  if (target == Convention::kOpenAiTf1) {
    // Exactly the five keys of OpenAI's HParams, in the order of the published files.
    nlohmann::ordered_json hparams;
    hparams["n_vocab"] = config.symbols.at('V');
    hparams["n_ctx"] = config.symbols.at('P');
    hparams["n_embd"] = config.symbols.at('E');
    hparams["n_head"] = config.symbols.at('N');
    hparams["n_layer"] = config.symbols.at('L');
    return hparams.dump(2) + "\n";
  }
  nlohmann::json hf = config.hf;
  if (hf_class) hf["architectures"] = {std::string(hf_class->name)};
  return dump_sorted_json(hf);
}

}  // namespace tensorferry
