// Llama, Mistral and Qwen2 in GGUF, as convert_hf_to_gguf.py's LlamaModel (llama, mistral:
// architecture "llama") and Qwen2Model (architecture "qwen2") write them. Llama's q/k rows are
// permuted into llama.cpp's rotary pairing (biases too); Qwen2 keeps HF's order, because
// llama.cpp runs it with the NeoX rotary layout that HF uses. Rotary scaling: linear as
// rope.scaling.* keys and llama3 as the rope_freqs.weight tensor (llama), YaRN as keys (qwen2).
#include "core/error.h"
#include "models/gguf/gguf_arch.h"
#include "models/gguf/gguf_rope.h"

namespace tensorferry {
namespace {

constexpr GgufStep kSame = GgufStep::kSame;
constexpr GgufStep kRope = GgufStep::kPermuteRope;
constexpr std::string_view kQ = "num_attention_heads";
constexpr std::string_view kK = "num_key_value_heads";

bool is_qwen2(const ModelConfig& config) { return config.hf.value("model_type", "") == "qwen2"; }

class LlamaGguf final : public GgufArchitecture {
 public:
  std::string_view family() const override { return "llama"; }
  std::string arch(const ModelConfig& config) const override {
    return is_qwen2(config) ? "qwen2" : "llama";
  }

  const std::vector<GgufTensorRule>& rules(const ModelConfig& config) const override {
    // clang-format off
#define LLAMA_COMMON(QSTEP)                                                               \
    {"embed_tokens.weight", "token_embd.weight", kSame},                                    \
    {"layers.{i}.self_attn.q_proj.weight", "blk.{i}.attn_q.weight", QSTEP, kQ},              \
    {"layers.{i}.self_attn.q_proj.bias", "blk.{i}.attn_q.bias", QSTEP, kQ},                  \
    {"layers.{i}.self_attn.k_proj.weight", "blk.{i}.attn_k.weight", QSTEP, kK},              \
    {"layers.{i}.self_attn.k_proj.bias", "blk.{i}.attn_k.bias", QSTEP, kK},                  \
    {"layers.{i}.self_attn.v_proj.weight", "blk.{i}.attn_v.weight", kSame},                  \
    {"layers.{i}.self_attn.v_proj.bias", "blk.{i}.attn_v.bias", kSame},                      \
    {"layers.{i}.self_attn.o_proj.weight", "blk.{i}.attn_output.weight", kSame},             \
    {"layers.{i}.self_attn.o_proj.bias", "blk.{i}.attn_output.bias", kSame},                 \
    {"layers.{i}.mlp.gate_proj.weight", "blk.{i}.ffn_gate.weight", kSame},                   \
    {"layers.{i}.mlp.gate_proj.bias", "blk.{i}.ffn_gate.bias", kSame},                       \
    {"layers.{i}.mlp.up_proj.weight", "blk.{i}.ffn_up.weight", kSame},                       \
    {"layers.{i}.mlp.up_proj.bias", "blk.{i}.ffn_up.bias", kSame},                           \
    {"layers.{i}.mlp.down_proj.weight", "blk.{i}.ffn_down.weight", kSame},                   \
    {"layers.{i}.mlp.down_proj.bias", "blk.{i}.ffn_down.bias", kSame},                       \
    {"layers.{i}.input_layernorm.weight", "blk.{i}.attn_norm.weight", kSame},                \
    {"layers.{i}.post_attention_layernorm.weight", "blk.{i}.ffn_norm.weight", kSame},        \
    {"norm.weight", "output_norm.weight", kSame},                                           \
    {"lm_head.weight", "output.weight", kSame}
    static const std::vector<GgufTensorRule> llama = {LLAMA_COMMON(kRope)};
    static const std::vector<GgufTensorRule> qwen2 = {LLAMA_COMMON(kSame)};
#undef LLAMA_COMMON
    // clang-format on
    return is_qwen2(config) ? qwen2 : llama;
  }

  // TextModel.set_gguf_parameters, then LlamaModel's / Qwen2Model's additions.
  void add_hparams(const ModelConfig& config, GgufMetadata& out) const override {
    const auto& hf = config.hf;
    const std::string a = arch(config) + ".";
    auto u32 = [&](const std::string& key, const nlohmann::json& v) {
      out.emplace_back(a + key, GgufValue::of_u32(v.get<uint32_t>()));
    };
    auto f32 = [&](const std::string& key, const nlohmann::json& v) {
      out.emplace_back(a + key, GgufValue::of_f32(v.get<float>()));
    };
    auto present = [&](const char* key) { return hf.contains(key) && !hf[key].is_null(); };
    u32("block_count", hf.at("num_hidden_layers"));
    if (present("max_position_embeddings")) u32("context_length", hf["max_position_embeddings"]);
    u32("embedding_length", hf.at("hidden_size"));
    if (present("intermediate_size")) u32("feed_forward_length", hf["intermediate_size"]);
    u32("attention.head_count", hf.at("num_attention_heads"));
    if (present("num_key_value_heads")) u32("attention.head_count_kv", hf["num_key_value_heads"]);
    if (present("rope_theta")) f32("rope.freq_base", hf["rope_theta"]);
    if (present("rms_norm_eps")) f32("attention.layer_norm_rms_epsilon", hf["rms_norm_eps"]);
    if (present("head_dim")) {
      u32("attention.key_length", hf["head_dim"]);
      u32("attention.value_length", hf["head_dim"]);
    }
    const nlohmann::json scaling =
        present("rope_scaling") ? hf["rope_scaling"] : nlohmann::json::object();
    const std::string type = scaling.value("rope_type", scaling.value("type", ""));
    if (is_qwen2(config)) {  // Qwen2Model: YaRN only
      if (type == "yarn" && scaling.contains("factor")) {
        out.emplace_back(a + "rope.scaling.type", GgufValue::of_string("yarn"));
        f32("rope.scaling.factor", scaling["factor"]);
        u32("rope.scaling.original_context_length", scaling.at("original_max_position_embeddings"));
      }
      return;
    }
    u32("vocab_size", hf.at("vocab_size"));
    const uint64_t rope_dim =
        present("head_dim")
            ? hf["head_dim"].get<uint64_t>()
            : hf.at("hidden_size").get<uint64_t>() / hf.at("num_attention_heads").get<uint64_t>();
    u32("rope.dimension_count", rope_dim);
    if (type == "linear" && scaling.contains("factor")) {
      out.emplace_back(a + "rope.scaling.type", GgufValue::of_string("linear"));
      f32("rope.scaling.factor", scaling["factor"]);
    }
  }

  // LlamaModel.generate_extra_tensors: rope_freqs.weight for Llama 3 rotary scaling.
  std::vector<GgufGeneratedTensor> generated_tensors(const ModelConfig& config) const override {
    if (is_qwen2(config)) return {};
    std::vector<float> factors = llama3_rope_factors_of(config.hf);
    if (factors.empty()) return {};
    return {{std::string(kGgufRopeFreqs), std::move(factors)}};
  }

  std::string tokenizer_model(const ModelConfig&) const override { return "gpt2"; }
  std::string tokenizer_pre(const ModelConfig& config) const override {
    return is_qwen2(config) ? "qwen2" : "llama-bpe";
  }
  bool writes_add_space_prefix(const ModelConfig& config) const override {
    return !is_qwen2(config);
  }

  bool reads_arch(std::string_view arch) const override {
    return arch == "llama" || arch == "qwen2";
  }
  // Mistral's files say "llama": they come back as llama configs (the same model).
  nlohmann::json hf_config(const GgufMetadata& m, const GgufFileTensors& t) const override {
    const GgufValue* a = find_value(m, "general.architecture");
    const bool qwen2 = a && a->text == "qwen2";
    const std::string p = qwen2 ? "qwen2." : "llama.";
    nlohmann::json c = {
        {"architectures", {qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
        {"hidden_act", "silu"},
        {"hidden_size", gguf_uint(m, p + "embedding_length")},
        {"intermediate_size", gguf_uint(m, p + "feed_forward_length")},
        {"max_position_embeddings", gguf_uint(m, p + "context_length")},
        {"model_type", qwen2 ? "qwen2" : "llama"},
        {"num_attention_heads", gguf_uint(m, p + "attention.head_count")},
        {"num_hidden_layers", gguf_uint(m, p + "block_count")},
        {"rms_norm_eps", gguf_float(m, p + "attention.layer_norm_rms_epsilon")},
        {"tie_word_embeddings", !t.untied_head},
    };
    c["num_key_value_heads"] = gguf_has(m, p + "attention.head_count_kv")
                                   ? gguf_uint(m, p + "attention.head_count_kv")
                                   : c["num_attention_heads"].get<uint64_t>();
    if (gguf_has(m, p + "rope.freq_base")) c["rope_theta"] = gguf_float(m, p + "rope.freq_base");
    if (gguf_has(m, p + "attention.key_length"))
      c["head_dim"] = gguf_uint(m, p + "attention.key_length");
    c["rope_scaling"] = rope_scaling(m, p, t, c);
    if (c["rope_scaling"].is_null()) c.erase("rope_scaling");
    return c;
  }

 private:
  // rope.scaling.* keys (linear, yarn) or rope_freqs.weight (llama3) -> HF's rope_scaling.
  static nlohmann::json rope_scaling(const GgufMetadata& m, const std::string& p,
                                     const GgufFileTensors& t, nlohmann::json& c) {
    if (!t.rope_freqs.empty()) {
      const uint64_t heads = c["num_attention_heads"].get<uint64_t>();
      if (heads == 0) throw_bad_input("", std::nullopt, "GGUF metadata: 0 attention heads");
      const uint64_t dim = gguf_has(m, p + "rope.dimension_count")
                               ? gguf_uint(m, p + "rope.dimension_count")
                               : c["hidden_size"].get<uint64_t>() / heads;
      const float base = c.contains("rope_theta") ? c["rope_theta"].get<float>() : 10000.0F;
      nlohmann::json s = llama3_rope_scaling(t.rope_freqs, base, dim, "");
      // The converter takes the original context from the top level of config.json.
      if (s["original_max_position_embeddings"] != 8192)
        c["original_max_position_embeddings"] = s["original_max_position_embeddings"];
      return s;
    }
    const GgufValue* type = find_value(m, p + "rope.scaling.type");
    if (!type || type->text == "none") return nullptr;
    if (type->text == "linear")
      return {{"rope_type", "linear"}, {"factor", gguf_float(m, p + "rope.scaling.factor")}};
    if (type->text == "yarn")
      return {{"rope_type", "yarn"},
              {"factor", gguf_float(m, p + "rope.scaling.factor")},
              {"original_max_position_embeddings",
               gguf_uint(m, p + "rope.scaling.original_context_length")}};
    throw_bad_input("", std::nullopt,
                    "GGUF metadata " + p + "rope.scaling.type \"" + type->text +
                        "\" is not one tensorferry rebuilds (linear, yarn, llama3)");
  }
};

}  // namespace

const GgufArchitecture* gguf_llama_architecture() {
  static const LlamaGguf arch;
  return &arch;
}

}  // namespace tensorferry
