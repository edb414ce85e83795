// The LLaMA family (Llama, Mistral, Qwen2) against in-memory checkpoints: config defaults and
// derived keys, hf-pytorch names and shapes under grouped-query attention, the biases a config
// implies, tied heads, casts and the class written. transformers itself checks the real files in
// tests/python/torch/test_llama.py.
#include <gtest/gtest.h>

#include <string>

#include "convert/plan.h"
#include "core/error.h"
#include "tests/cpp/model_fixtures.h"

namespace tensorferry {
namespace {

using namespace testing_models;

const std::string kQwen2Config = R"({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"],
  "vocab_size": 70, "hidden_size": 12, "intermediate_size": 20, "num_hidden_layers": 2,
  "num_attention_heads": 3, "num_key_value_heads": 1, "tie_word_embeddings": true})";

std::string error_of(const std::function<void()>& f, ErrorKind kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(LlamaConfig, DefaultsAndDerivedKeysAreTheClassesOwn) {
  const ModelConfig llama_config =
      llama().read_config(Convention::kHfPyTorch, kLlamaConfig, "config.json");
  EXPECT_EQ(llama_config.symbols.at('A'), 16u);  // 4 heads of 4
  EXPECT_EQ(llama_config.symbols.at('K'), 8u);   // 2 key/value heads of 4
  EXPECT_EQ(llama_config.hf["head_dim"], 4);
  EXPECT_EQ(llama_config.hf["rms_norm_eps"], 1e-6);
  EXPECT_EQ(llama_config.hf["rope_theta"], 500000.0);

  // Qwen2Config has no head_dim key; its key/value heads default to 32, Mistral's to 8.
  const ModelConfig qwen2 = llama().read_config(Convention::kHfPyTorch, kQwen2Config, "c");
  EXPECT_FALSE(qwen2.hf.contains("head_dim"));
  EXPECT_EQ(qwen2.symbols.at('K'), 4u);
  const ModelConfig mistral = llama().read_config(
      Convention::kHfPyTorch,
      R"({"model_type": "mistral", "hidden_size": 64, "num_attention_heads": 16})", "c");
  EXPECT_EQ(mistral.hf["num_key_value_heads"], 8);
  EXPECT_EQ(mistral.symbols.at('K'), 32u);
  EXPECT_EQ(mistral.hf["sliding_window"], 4096);

  EXPECT_TRUE(llama().matches_hf_config(nlohmann::json::parse(kQwen2Config)));
  EXPECT_TRUE(llama().matches_hf_config({{"architectures", {"MistralForCausalLM"}}}));
  EXPECT_FALSE(llama().matches_hf_config({{"model_type", "falcon"}}));
  EXPECT_FALSE(gpt2().matches_hf_config(nlohmann::json::parse(kLlamaConfig)));
  EXPECT_FALSE(bert().matches_hf_config(nlohmann::json::parse(kLlamaConfig)));

  const std::string bad = error_of(
      [] {
        llama().read_config(Convention::kHfPyTorch,
                            R"({"hidden_size": 16, "num_attention_heads": 4,
                                "num_key_value_heads": 3, "vocab_size": 8,
                                "intermediate_size": 8, "num_hidden_layers": 1})",
                            "cfg.json");
      },
      ErrorKind::kBadInput);
  EXPECT_NE(bad.find("not a multiple of num_key_value_heads 3"), std::string::npos) << bad;
}

TEST(LlamaConvert, GroupedQueryAttentionCastToBf16KeepsNamesAndShapes) {
  const fs::path dir = fresh_dir("llama_cast");
  const ModelSource src = source_in(dir / "hf", llama(), Convention::kHfPyTorch, kLlamaConfig);
  write_file(dir / "hf" / "tokenizer.json", "{}");
  const ModelConfig config = llama().read_config(Convention::kHfPyTorch, kLlamaConfig, "c");
  auto tensors =
      synthesize(llama(), config, Convention::kHfPyTorch, {"base", "untied_head"}, "model.", "");
  // transformers < 4.31 saved the rotary frequencies of every layer.
  tensors.push_back(make_tensor("model.layers.1.self_attn.rotary_emb.inv_freq", {2}, 9));
  FakeReader reader(tensors);
  ModelConvertOptions options;
  options.dtype = DType::kBF16;
  const Converted out = run(src, reader, Convention::kHfPyTorch, dir / "out", options);
  EXPECT_EQ(out.tensors.size(), 2u + 2 * 9 + 1);
  EXPECT_EQ(out.tensors.at("model.layers.1.self_attn.k_proj.weight").entry.shape, (Shape{8, 16}));
  EXPECT_EQ(out.tensors.at("model.layers.1.self_attn.o_proj.weight").entry.shape, (Shape{16, 16}));
  EXPECT_EQ(out.tensors.at("model.layers.0.mlp.down_proj.weight").entry.shape, (Shape{16, 24}));
  EXPECT_EQ(out.tensors.at("lm_head.weight").entry.dtype, DType::kBF16);
  for (const auto& e : out.plan.entries) EXPECT_EQ(e.step, Step::kCopy) << e.canonical;
  ASSERT_EQ(out.plan.skipped.size(), 1u);
  EXPECT_NE(out.plan.skipped[0].reason.find("rotary frequencies"), std::string::npos);
  const auto hf = nlohmann::json::parse(read_file(dir / "out" / "config.json"));
  EXPECT_EQ(hf["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(hf["dtype"], "bfloat16");
  EXPECT_EQ(hf["num_key_value_heads"], 2);
  EXPECT_EQ(read_file(dir / "out" / "tokenizer.json"), "{}");
}

TEST(LlamaConvert, Qwen2BiasesAreRequiredAndTheTiedHeadIsChecked) {
  const fs::path dir = fresh_dir("qwen2");
  const ModelSource src = source_in(dir / "hf", llama(), Convention::kHfPyTorch, kQwen2Config);
  const ModelConfig config = llama().read_config(Convention::kHfPyTorch, kQwen2Config, "c");
  const auto base = synthesize(llama(), config, Convention::kHfPyTorch, {"base"}, "model.", "");
  const auto with_biases =
      synthesize(llama(), config, Convention::kHfPyTorch, {"base", "qkv_bias"}, "model.", "");
  const std::string missing = error_of(
      [&] {
        FakeReader reader(base);
        make_plan(src, reader, (dir / "o1").string(), {.to = Convention::kHfPyTorch});
      },
      ErrorKind::kBadInput);
  EXPECT_NE(missing.find("missing tensor model.layers.0.self_attn.q_proj.bias"), std::string::npos)
      << missing;
  EXPECT_NE(missing.find("config.json implies the q/k/v projection biases"), std::string::npos)
      << missing;
  EXPECT_NE(missing.find("but the source has none of them"), std::string::npos) << missing;

  // torch.save keeps lm_head.weight as a second name of the tied embeddings.
  auto tied = with_biases;
  StoredTensor head = tied.front();
  ASSERT_EQ(head.entry.name, "model.embed_tokens.weight");
  head.entry.name = "lm_head.weight";
  tied.push_back(head);
  FakeReader reader(tied);
  const Converted out = run(src, reader, Convention::kHfPyTorch, dir / "o2");
  EXPECT_EQ(out.tensors.at("model.layers.1.self_attn.k_proj.bias").entry.shape, (Shape{4}));
  EXPECT_EQ(out.tensors.count("lm_head.weight"), 0u);
  EXPECT_EQ(out.plan.ties.size(), 1u);
  const auto hf = nlohmann::json::parse(read_file(dir / "o2" / "config.json"));
  EXPECT_EQ(hf["architectures"][0], "Qwen2ForCausalLM");
  for (const auto& t : with_biases)
    EXPECT_EQ(out.tensors.at(t.entry.name).bytes, t.bytes) << t.entry.name;

  // A different "tied" head is refused before anything is written.
  tied.back().bytes = random_floats(70 * 12, 77);
  FakeReader differs(tied);
  const Plan plan = make_plan(src, differs, (dir / "o3").string(), {.to = Convention::kHfPyTorch});
  EXPECT_NE(error_of([&] { verify_ties(plan, differs); }, ErrorKind::kBadInput)
                .find("tie_word_embeddings"),
            std::string::npos);
}

TEST(LlamaConvert, TheClassWrittenFollowsTheModelType) {
  // A Mistral config without architectures: the class comes from the heads found, and is named
  // after the model type.
  const std::string config_text = R"({"model_type": "mistral", "vocab_size": 50,
    "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 1, "num_attention_heads": 2,
    "num_key_value_heads": 1})";
  const fs::path dir = fresh_dir("mistral");
  const ModelSource src = source_in(dir / "hf", llama(), Convention::kHfPyTorch, config_text);
  const ModelConfig config = llama().read_config(Convention::kHfPyTorch, config_text, "c");
  FakeReader reader(synthesize(llama(), config, Convention::kHfPyTorch, {"base"}, "", ""));
  const Converted out = run(src, reader, Convention::kHfPyTorch, dir / "out");
  const auto hf = nlohmann::json::parse(read_file(dir / "out" / "config.json"));
  EXPECT_EQ(hf["architectures"][0], "MistralModel");
  EXPECT_EQ(out.tensors.count("embed_tokens.weight"), 1u);
  // Mistral has no biases: a q_proj.bias is not part of its table.
  EXPECT_FALSE(llama().group_enabled(config, "qkv_bias"));
}

}  // namespace
}  // namespace tensorferry
