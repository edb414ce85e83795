// GPT-2 in GGUF, as convert_hf_to_gguf.py's GPT2Model writes it: the Conv1D weights transposed to
// [out, in], everything else as is; the hyperparameters read straight from config.json (the
// feed-forward length is 4 * n_embd whatever n_inner says, as there); tied head left out.
#include "models/gguf/gguf_arch.h"

namespace tensorferry {
namespace {

constexpr GgufStep kSame = GgufStep::kSame;
constexpr GgufStep kTranspose = GgufStep::kTranspose;

class Gpt2Gguf final : public GgufArchitecture {
 public:
  std::string_view family() const override { return "gpt2"; }
  std::string arch(const ModelConfig&) const override { return "gpt2"; }

  const std::vector<GgufTensorRule>& rules(const ModelConfig&) const override {
    // clang-format off
    static const std::vector<GgufTensorRule> rules = {
        {"wte.weight", "token_embd.weight", kSame},
        {"wpe.weight", "position_embd.weight", kSame, "", true},
        {"h.{i}.ln_1.weight", "blk.{i}.attn_norm.weight", kSame},
        {"h.{i}.ln_1.bias", "blk.{i}.attn_norm.bias", kSame},
        {"h.{i}.attn.c_attn.weight", "blk.{i}.attn_qkv.weight", kTranspose},
        {"h.{i}.attn.c_attn.bias", "blk.{i}.attn_qkv.bias", kSame},
        {"h.{i}.attn.c_proj.weight", "blk.{i}.attn_output.weight", kTranspose},
        {"h.{i}.attn.c_proj.bias", "blk.{i}.attn_output.bias", kSame},
        {"h.{i}.ln_2.weight", "blk.{i}.ffn_norm.weight", kSame},
        {"h.{i}.ln_2.bias", "blk.{i}.ffn_norm.bias", kSame},
        {"h.{i}.mlp.c_fc.weight", "blk.{i}.ffn_up.weight", kTranspose},
        {"h.{i}.mlp.c_fc.bias", "blk.{i}.ffn_up.bias", kSame},
        {"h.{i}.mlp.c_proj.weight", "blk.{i}.ffn_down.weight", kTranspose},
        {"h.{i}.mlp.c_proj.bias", "blk.{i}.ffn_down.bias", kSame},
        {"ln_f.weight", "output_norm.weight", kSame},
        {"ln_f.bias", "output_norm.bias", kSame},
        {"lm_head.weight", "output.weight", kSame},
    };
    // clang-format on
    return rules;
  }

  void add_hparams(const ModelConfig& config, GgufMetadata& out) const override {
    const auto& hf = config.hf;
    auto u32 = [&](const char* key, uint64_t v) {
      out.emplace_back(std::string("gpt2.") + key, GgufValue::of_u32(static_cast<uint32_t>(v)));
    };
    u32("block_count", hf.at("n_layer").get<uint64_t>());
    // The converter reads n_ctx; configs of current transformers name it n_positions only.
    u32("context_length", hf.value("n_ctx", hf.at("n_positions")).get<uint64_t>());
    u32("embedding_length", hf.at("n_embd").get<uint64_t>());
    u32("feed_forward_length", 4 * hf.at("n_embd").get<uint64_t>());
    u32("attention.head_count", hf.at("n_head").get<uint64_t>());
    out.emplace_back("gpt2.attention.layer_norm_epsilon",
                     GgufValue::of_f32(hf.at("layer_norm_epsilon").get<float>()));
  }

  std::string tokenizer_model(const ModelConfig&) const override { return "gpt2"; }
  std::string tokenizer_pre(const ModelConfig&) const override { return "gpt-2"; }

  bool reads_arch(std::string_view arch) const override { return arch == "gpt2"; }
  nlohmann::json hf_config(const GgufMetadata& m, const GgufFileTensors& t) const override {
    nlohmann::json c = {
        {"activation_function", "gelu_new"},
        {"architectures", {"GPT2LMHeadModel"}},
        {"layer_norm_epsilon", gguf_float(m, "gpt2.attention.layer_norm_epsilon")},
        {"model_type", "gpt2"},
        {"n_embd", gguf_uint(m, "gpt2.embedding_length")},
        {"n_head", gguf_uint(m, "gpt2.attention.head_count")},
        {"n_inner", nullptr},
        {"n_layer", gguf_uint(m, "gpt2.block_count")},
        {"n_positions", gguf_uint(m, "gpt2.context_length")},
        {"tie_word_embeddings", !t.untied_head},
    };
    return c;
  }
};

}  // namespace

const GgufArchitecture* gguf_gpt2_architecture() {
  static const Gpt2Gguf arch;
  return &arch;
}

}  // namespace tensorferry
