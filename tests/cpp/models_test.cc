// Model conversion against in-memory checkpoints: the family tables, planning (names, shapes,
// layout steps, skipped tensors, refusals) and streaming execution through a fake writer.
// The real containers and the real frameworks are exercised by tests/python/cross.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "convert/cast.h"
#include "convert/execute.h"
#include "convert/layout.h"
#include "convert/plan.h"
#include "convert/report.h"
#include "core/error.h"
#include "models/config_json.h"
#include "models/family.h"
#include "tests/cpp/model_fixtures.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

using namespace testing_models;

// ---------------------------------------------------------------------------------------------
// The tables themselves.

TEST(FamilyTables, EveryFormHasTheCanonicalElementCountAndTransposesAreMatrices) {
  for (const Family* family : all_families()) {
    const std::string config_text = family->name() == "gpt2"    ? kGpt2Config
                                    : family->name() == "llama" ? kLlamaConfig
                                                                : kBertConfig;
    ModelConfig config = family->read_config(Convention::kHfPyTorch, config_text, "config.json");
    config.symbols['C'] = 5;
    for (const auto& row : family->params()) {
      const Shape canonical = *evaluate_shape(parse_shape_expr(row.shape), config.symbols);
      EXPECT_TRUE(family->find_group(row.group)) << row.canonical;
      for (Convention c : kAllConventions) {
        const StoredForm& form = row.stored[static_cast<size_t>(c)];
        if (form.name.empty()) continue;
        EXPECT_TRUE(family->supports(c)) << row.canonical;
        const Shape stored = *evaluate_shape(parse_shape_expr(form.shape), config.symbols);
        EXPECT_EQ(num_elements(stored), num_elements(canonical))
            << family->name() << " " << row.canonical << " " << convention_name(c);
        if (form.layout == Layout::kTranspose) {
          ASSERT_EQ(canonical.size(), 2u) << row.canonical;
          EXPECT_EQ(stored, (Shape{canonical[1], canonical[0]})) << row.canonical;
        }
        EXPECT_EQ(row.per_layer, form.name.find("{i}") != std::string_view::npos)
            << row.canonical << " " << convention_name(c);
      }
    }
  }
}

TEST(FamilyTables, StoredNamesAreUniquePerConvention) {
  for (const Family* family : all_families()) {
    for (Convention c : kAllConventions) {
      std::set<std::string> seen;
      for (const auto& row : family->params()) {
        const StoredForm& form = row.stored[static_cast<size_t>(c)];
        if (form.name.empty()) continue;
        for (int l = 0; l < 3; ++l)
          if (l == 0 || row.per_layer)
            EXPECT_TRUE(seen.insert(expand_template(form.name, l, "x.", "s")).second)
                << family->name() << " " << form.name;
      }
    }
  }
}

TEST(FamilyTables, ShapeExpressions) {
  EXPECT_EQ(shape_expr_to_string(parse_shape_expr("1,E,3E")), "[1, E, 3E]");
  EXPECT_EQ(*evaluate_shape(parse_shape_expr("1,E,3E"), {{'E', 8}}), (Shape{1, 8, 24}));
  EXPECT_FALSE(evaluate_shape(parse_shape_expr("C,H"), {{'H', 8}}).has_value());
  EXPECT_TRUE(parse_shape_expr("").empty());
  EXPECT_THROW(parse_shape_expr("E,x3"), Error);
}

TEST(FamilyTables, HfClassChoiceFollowsTheHeads) {
  const Family& f = bert();
  EXPECT_EQ(f.choose_hf_class({"base", "pooler", "nsp", "mlm"}, "").name, "BertForPreTraining");
  EXPECT_EQ(f.choose_hf_class({"base", "mlm"}, "").name, "BertForMaskedLM");
  EXPECT_EQ(f.choose_hf_class({"base", "pooler"}, "").name, "BertModel");
  EXPECT_EQ(f.choose_hf_class({"base"}, "").name, "BertModel");
  EXPECT_EQ(f.choose_hf_class({"base", "pooler", "qa"}, "").name, "BertForQuestionAnswering");
  EXPECT_EQ(f.choose_hf_class({"base", "pooler", "classifier"}, "").name,
            "BertForSequenceClassification");
  EXPECT_EQ(f.choose_hf_class({"base", "pooler", "nsp", "mlm"}, "BertModel").name, "BertModel");
  EXPECT_EQ(gpt2().choose_hf_class({"base"}, "").name, "GPT2LMHeadModel");
  EXPECT_EQ(gpt2().choose_hf_class({"base"}, "GPT2Model").name, "GPT2Model");
}

// ---------------------------------------------------------------------------------------------
// GPT-2.

TEST(Gpt2Convert, HfPyTorchToOpenAiAndBackIsBitExact) {
  const fs::path dir = fresh_dir("gpt2_rt");
  const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, kGpt2Config);
  write_file(dir / "hf" / "vocab.json", "{\"a\": 0}");
  write_file(dir / "hf" / "merges.txt", "#version: 0.2\na b\n");
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "transformer.", "");
  // What a transformers < 4.31 torch.save holds besides the parameters.
  auto lm_head = tensors.front();  // wte
  lm_head.entry.name = "lm_head.weight";
  tensors.push_back(lm_head);
  tensors.push_back(make_tensor("transformer.h.0.attn.bias", {1, 1, 24, 24}, 7, TensorRole::kWeight,
                                DType::kBool));
  tensors.push_back(make_tensor("transformer.h.1.attn.masked_bias", {}, 8));
  FakeReader reader(tensors);

  Converted openai = run(src, reader, Convention::kOpenAiTf1, dir / "openai");
  EXPECT_EQ(openai.tensors.size(), 2u + 2 * 12 + 2);
  EXPECT_EQ(openai.tensors.at("model/h1/attn/c_attn/w").entry.shape, (Shape{1, 16, 48}));
  EXPECT_EQ(openai.tensors.at("model/h1/mlp/c_fc/b").entry.shape, (Shape{64}));
  EXPECT_EQ(read_file(dir / "openai" / "hparams.json"),
            "{\n  \"n_vocab\": 100,\n  \"n_ctx\": 24,\n  \"n_embd\": 16,\n  \"n_head\": 2,\n"
            "  \"n_layer\": 2\n}\n");
  EXPECT_EQ(read_file(dir / "openai" / "encoder.json"), "{\"a\": 0}");
  EXPECT_EQ(read_file(dir / "openai" / "vocab.bpe"), "#version: 0.2\na b\n");
  std::map<std::string, std::string> skipped;
  for (const auto& s : openai.plan.skipped) skipped[s.name] = s.reason;
  EXPECT_EQ(skipped.size(), 3u);
  EXPECT_NE(skipped["lm_head.weight"].find("tied to transformer.wte.weight"), std::string::npos);
  EXPECT_NE(skipped["transformer.h.0.attn.bias"].find("buffer"), std::string::npos);
  EXPECT_NE(skipped["transformer.h.1.attn.masked_bias"].find("buffer"), std::string::npos);
  for (const auto& e : openai.plan.entries) EXPECT_NE(e.step, Step::kTranspose) << e.canonical;

  // Back: OpenAI folder -> HF PyTorch.
  const ModelSource back_src = source_in(dir / "openai", gpt2(), Convention::kOpenAiTf1,
                                         read_file(dir / "openai" / "hparams.json"));
  FakeReader back_reader(as_source(openai.tensors));
  Converted back = run(back_src, back_reader, Convention::kHfPyTorch, dir / "back");
  EXPECT_EQ(back.plan.hf_class, "GPT2LMHeadModel");
  size_t compared = 0;
  for (const auto& t : tensors) {
    if (t.entry.name == "lm_head.weight" || t.entry.name == "transformer.h.0.attn.bias" ||
        t.entry.name == "transformer.h.1.attn.masked_bias")
      continue;
    ASSERT_TRUE(back.tensors.count(t.entry.name)) << t.entry.name;
    EXPECT_EQ(back.tensors.at(t.entry.name).bytes, t.bytes) << t.entry.name;
    EXPECT_EQ(back.tensors.at(t.entry.name).entry.shape, t.entry.shape) << t.entry.name;
    ++compared;
  }
  EXPECT_EQ(compared, back.tensors.size());
  const auto hf = nlohmann::json::parse(read_file(dir / "back" / "config.json"));
  EXPECT_EQ(hf["n_embd"], 16);
  EXPECT_EQ(hf["n_positions"], 24);
  EXPECT_EQ(hf["vocab_size"], 100);
  EXPECT_EQ(hf["activation_function"], "gelu_new");
  EXPECT_EQ(hf["architectures"][0], "GPT2LMHeadModel");
  EXPECT_EQ(read_file(dir / "back" / "merges.txt"), "#version: 0.2\na b\n");
}

TEST(Gpt2Convert, Tf2NamesAndBiasShapes) {
  const fs::path dir = fresh_dir("gpt2_tf2");
  const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, kGpt2Config);
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  // A bare GPT2Model state dict (no prefix) loads too.
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "", "");
  FakeReader reader(tensors);
  Converted tf2 = run(src, reader, Convention::kHfTf2, dir / "tf2");
  EXPECT_EQ(tf2.order.front(), "transformer/tfgpt2lm_head_model/transformer/wte/embeddings:0");
  EXPECT_EQ(tf2.tensors.at("transformer/tfgpt2lm_head_model/transformer/h_._1/attn/c_attn/bias:0")
                .entry.shape,
            (Shape{1, 48}));
  EXPECT_EQ(tf2.plan.tf2_layers, std::vector<std::string>{"transformer"});
  // And back, with another scope suffix as a second model in one Keras session would have, and
  // the token table under its older name (TFSharedEmbeddings' weight:0).
  TensorMap renamed;
  for (auto [name, t] : tf2.tensors) {
    std::string n = "transformer/tfgpt2lm_head_model_1" + name.substr(name.find("/transformer/"));
    if (n.ends_with("wte/embeddings:0")) n = n.substr(0, n.size() - 12) + "weight:0";
    t.entry.name = n;
    renamed[n] = t;
  }
  const ModelSource back_src =
      source_in(dir / "tf2", gpt2(), Convention::kHfTf2, read_file(dir / "tf2" / "config.json"));
  FakeReader back_reader(as_source(renamed));
  Converted back = run(back_src, back_reader, Convention::kHfPyTorch, dir / "back");
  for (const auto& t : tensors)
    EXPECT_EQ(back.tensors.at("transformer." + t.entry.name).bytes, t.bytes) << t.entry.name;
}

TEST(Gpt2Convert, RefusesWhatOpenAiCannotExpress) {
  const fs::path dir = fresh_dir("gpt2_refuse");
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "transformer.", "");
  auto expect_refusal = [&](const std::string& config_text, std::vector<StoredTensor> ts,
                            const std::string& needle) {
    const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, config_text);
    FakeReader reader(ts);
    try {
      make_plan(src, reader, (dir / "out").string(), {.to = Convention::kOpenAiTf1});
      ADD_FAILURE() << "no refusal for " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto with = [&](const std::string& key, const std::string& value) {
    auto j = nlohmann::json::parse(kGpt2Config);
    j[key] = nlohmann::json::parse(value);
    return j.dump();
  };
  expect_refusal(with("layer_norm_epsilon", "1e-6"), tensors, "hard-codes 1e-5");
  expect_refusal(with("activation_function", "\"gelu\""), tensors, "tanh approximation");
  // An untied head: config says so and lm_head differs from wte.
  auto untied = tensors;
  untied.push_back(make_tensor("lm_head.weight", {100, 16}, 99));
  expect_refusal(with("tie_word_embeddings", "false"), untied, "not tied to wte");
  // n_inner != 4 n_embd (the tensors follow the config, so only the target refuses).
  {
    auto j = nlohmann::json::parse(kGpt2Config);
    j["n_inner"] = 40;
    const ModelConfig c2 = gpt2().read_config(Convention::kHfPyTorch, j.dump(), "c");
    expect_refusal(j.dump(),
                   synthesize(gpt2(), c2, Convention::kHfPyTorch, {"base"}, "transformer.", ""),
                   "n_inner is 40");
  }
}

TEST(Gpt2Convert, UntiedHeadGoesToHfPyTorchOnly) {
  const fs::path dir = fresh_dir("gpt2_untied");
  auto j = nlohmann::json::parse(kGpt2Config);
  j["tie_word_embeddings"] = false;
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, j.dump(), "c");
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base", "untied_head"},
                            "transformer.", "");
  const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, j.dump());
  FakeReader reader(tensors);
  Converted out = run(src, reader, Convention::kHfPyTorch, dir / "out");
  EXPECT_TRUE(out.tensors.count("lm_head.weight"));
  EXPECT_TRUE(out.plan.ties.empty());
}

TEST(Gpt2Convert, TiedCopyThatDiffersIsAnError) {
  const fs::path dir = fresh_dir("gpt2_tie");
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "transformer.", "");
  tensors.push_back(make_tensor("lm_head.weight", {100, 16}, 1234));
  const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, kGpt2Config);
  FakeReader reader(tensors);
  Plan plan = make_plan(src, reader, (dir / "out").string(), {.to = Convention::kOpenAiTf1});
  try {
    verify_ties(plan, reader);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.tensor(), "lm_head.weight");
  }
}

TEST(Gpt2Convert, MissingExtraAndMisshapenTensors) {
  const fs::path dir = fresh_dir("gpt2_bad");
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  const auto good =
      synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "transformer.", "");
  const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, kGpt2Config);
  auto plan_of = [&](std::vector<StoredTensor> ts) {
    FakeReader reader(ts);
    return make_plan(src, reader, (dir / "out").string(), {.to = Convention::kOpenAiTf1});
  };
  auto error_of = [&](std::vector<StoredTensor> ts) -> std::string {
    try {
      plan_of(ts);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
      return e.what();
    }
    return "";
  };
  // Missing.
  auto missing = good;
  missing.erase(
      std::remove_if(missing.begin(), missing.end(),
                     [](const auto& t) { return t.entry.name == "transformer.h.1.ln_2.bias"; }),
      missing.end());
  EXPECT_NE(error_of(missing).find("missing tensor transformer.h.1.ln_2.bias"), std::string::npos)
      << error_of(missing);
  // A layer beyond the config's count.
  auto extra_layer = good;
  extra_layer.push_back(make_tensor("transformer.h.2.ln_1.weight", {16}, 5));
  EXPECT_NE(error_of(extra_layer).find("matches none of the config's 2 layers"), std::string::npos);
  // Wrong shape.
  auto misshapen = good;
  for (auto& t : misshapen)
    if (t.entry.name == "transformer.h.0.attn.c_attn.weight") {
      t.entry.shape = {48, 16};
    }
  EXPECT_NE(error_of(misshapen).find("shape [48, 16] but config.json implies [16, 48]"),
            std::string::npos)
      << error_of(misshapen);
  // An unknown tensor is skipped with a reason, not dropped silently.
  auto extra = good;
  extra.push_back(make_tensor("transformer.extra.weight", {3}, 5));
  Plan plan = plan_of(extra);
  ASSERT_EQ(plan.skipped.size(), 1u);
  EXPECT_EQ(plan.skipped[0].name, "transformer.extra.weight");
  EXPECT_EQ(plan.skipped[0].reason, "not in the gpt2 table for hf-pytorch");
  // Duplicated under both spellings.
  auto dup = good;
  dup.push_back(good.front());
  dup.back().entry.name = "wte.weight";
  EXPECT_NE(error_of(dup).find("are the parameter wte.weight"), std::string::npos);
}

TEST(Gpt2Convert, CastsOnRequestAndRecordsTheDtype) {
  const fs::path dir = fresh_dir("gpt2_cast");
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "transformer.", "");
  const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, kGpt2Config);
  FakeReader reader(tensors);
  ModelConvertOptions options;
  options.dtype = DType::kBF16;
  Converted out = run(src, reader, Convention::kHfPyTorch, dir / "out", options);
  const auto& wte = out.tensors.at("transformer.wte.weight");
  EXPECT_EQ(wte.entry.dtype, DType::kBF16);
  EXPECT_EQ(wte.bytes.size(), tensors[0].bytes.size() / 2);
  const auto source = floats(tensors[0]);
  for (size_t i = 0; i < source.size(); ++i) {
    uint16_t h;
    std::memcpy(&h, wte.bytes.data() + 2 * i, 2);
    ASSERT_EQ(h, f32_to_bf16(source[i]));
  }
  EXPECT_EQ(nlohmann::json::parse(read_file(dir / "out" / "config.json"))["dtype"], "bfloat16");
}

// Issue 12 item 9: what the writer would refuse is refused while planning (so by --dry-run too),
// naming the final output, never a temporary, and saying what would work.
TEST(Gpt2Convert, PlanRefusesBf16IntoHfTf2AndSaysWhatWorks) {
  const fs::path dir = fresh_dir("gpt2_bf16_tf2");
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "transformer.", "");
  const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, kGpt2Config);
  FakeReader reader(tensors);
  ModelConvertOptions options{.to = Convention::kHfTf2};
  options.dtype = DType::kBF16;
  try {
    make_plan(src, reader, (dir / "out").string(), options);
    ADD_FAILURE() << "bf16 into tf_model.h5 was planned";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_EQ(e.file(), (dir / "out" / "tf_model.h5").string());
    EXPECT_NE(e.message().find("keras-h5 has no bf16 type; --dtype f16 or --dtype f32 would work"),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find("--to hf-pytorch"), std::string::npos) << e.message();
  }
  options.dtype = DType::kF16;
  EXPECT_NO_THROW(make_plan(src, reader, (dir / "out").string(), options));
  fs::create_directories(dir / "out");
  try {
    make_plan(src, reader, (dir / "out").string(), options);
    ADD_FAILURE() << "an existing output was planned over without --force";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("output exists"), std::string::npos) << e.message();
  }
  options.force = true;
  EXPECT_NO_THROW(make_plan(src, reader, (dir / "out").string(), options));
}

// Issue 13 item 10: values no model can have are refused for every target, as bad input.
TEST(Gpt2Convert, ConfigValuesAreValidatedForEveryTarget) {
  const fs::path dir = fresh_dir("gpt2_config_values");
  const ModelConfig config = gpt2().read_config(Convention::kHfPyTorch, kGpt2Config, "c");
  auto tensors = synthesize(gpt2(), config, Convention::kHfPyTorch, {"base"}, "transformer.", "");
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"layer_norm_epsilon", "-1"}, {"activation_function", "\"os.system\""}}) {
    auto j = nlohmann::json::parse(kGpt2Config);
    j[key] = nlohmann::json::parse(value);
    const ModelSource src = source_in(dir / "hf", gpt2(), Convention::kHfPyTorch, j.dump());
    for (Convention to : {Convention::kHfPyTorch, Convention::kHfTf2, Convention::kOpenAiTf1}) {
      FakeReader reader(tensors);
      try {
        make_plan(src, reader, (dir / "out").string(), {.to = to});
        ADD_FAILURE() << key << " into " << convention_name(to);
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
        EXPECT_NE(e.message().find(key), std::string::npos) << e.what();
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BERT.

TEST(BertConvert, HfToGoogleTransposesKernelsButNotOutputWeights) {
  const fs::path dir = fresh_dir("bert_google");
  const ModelConfig config = bert().read_config(Convention::kHfPyTorch, kBertConfig, "c");
  auto tensors = synthesize(bert(), config, Convention::kHfPyTorch,
                            {"base", "pooler", "mlm", "nsp"}, "bert.", "");
  // Aliases and buffers a transformers 4.2x torch.save holds.
  for (const auto& t : std::vector<StoredTensor>(tensors)) {
    if (t.entry.name == "bert.embeddings.word_embeddings.weight") {
      auto a = t;
      a.entry.name = "cls.predictions.decoder.weight";
      tensors.push_back(a);
    }
    if (t.entry.name == "cls.predictions.bias") {
      auto a = t;
      a.entry.name = "cls.predictions.decoder.bias";
      tensors.push_back(a);
    }
  }
  tensors.push_back(
      make_tensor("bert.embeddings.position_ids", {1, 20}, 3, TensorRole::kWeight, DType::kI64));
  // Legacy LayerNorm spelling in one tensor.
  for (auto& t : tensors)
    if (t.entry.name == "bert.embeddings.LayerNorm.weight")
      t.entry.name = "bert.embeddings.LayerNorm.gamma";
  const ModelSource src = source_in(dir / "hf", bert(), Convention::kHfPyTorch, kBertConfig);
  write_file(dir / "hf" / "vocab.txt", "[PAD]\n[UNK]\n");
  FakeReader reader(tensors);
  Converted google = run(src, reader, Convention::kGoogleTf1, dir / "google");

  auto by_name = [&](const std::string& n) -> const StoredTensor& {
    for (const auto& t : tensors)
      if (t.entry.name == n) return t;
    throw std::runtime_error(n);
  };
  // q kernel = transpose of the PyTorch weight (square: only values can tell).
  const auto pt = floats(by_name("bert.encoder.layer.1.attention.self.query.weight"));
  const auto tf = floats(google.tensors.at("bert/encoder/layer_1/attention/self/query/kernel"));
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) ASSERT_EQ(tf[c * 16 + r], pt[r * 16 + c]);
  EXPECT_EQ(google.tensors.at("bert/encoder/layer_0/intermediate/dense/kernel").entry.shape,
            (Shape{16, 24}));
  EXPECT_EQ(google.tensors.at("cls/seq_relationship/output_weights").bytes,
            by_name("cls.seq_relationship.weight").bytes);
  EXPECT_EQ(google.tensors.at("cls/predictions/output_bias").bytes,
            by_name("cls.predictions.bias").bytes);
  EXPECT_EQ(google.tensors.at("bert/embeddings/LayerNorm/gamma").bytes,
            by_name("bert.embeddings.LayerNorm.gamma").bytes);
  const auto& step = google.tensors.at("global_step");
  EXPECT_EQ(step.entry.dtype, DType::kI64);
  EXPECT_EQ(step.bytes, std::vector<std::byte>(8, std::byte{0}));
  EXPECT_EQ(google.tensors.size(), 5u + 2 * 16 + 2 + 2 + 5 + 1);
  EXPECT_EQ(google.plan.ties.size(), 2u);
  EXPECT_EQ(read_file(dir / "google" / "vocab.txt"), "[PAD]\n[UNK]\n");
  const auto gc = nlohmann::json::parse(read_file(dir / "google" / "bert_config.json"));
  EXPECT_EQ(gc.size(), 11u);
  EXPECT_EQ(gc["type_vocab_size"], 3);
  EXPECT_FALSE(google.plan.notes.empty());  // the GELU note

  // Google -> HF TF2 -> HF PyTorch returns the same bytes.
  const ModelSource gsrc = source_in(dir / "google", bert(), Convention::kGoogleTf1,
                                     read_file(dir / "google" / "bert_config.json"));
  FakeReader greader(as_source(google.tensors));
  Converted tf2 = run(gsrc, greader, Convention::kHfTf2, dir / "tf2");
  EXPECT_EQ(tf2.plan.hf_class, "BertForPreTraining");
  EXPECT_EQ(tf2.plan.tf2_layers, (std::vector<std::string>{"bert", "nsp___cls", "mlm___cls"}));
  // TF2 order: bert layer, then nsp, then mlm with the embedding duplicates last.
  EXPECT_EQ(tf2.order.front(),
            "bert/tf_bert_for_pre_training/bert/embeddings/word_embeddings/weight:0");
  EXPECT_EQ(tf2.order[tf2.order.size() - 6],
            "mlm___cls/tf_bert_for_pre_training/mlm___cls/predictions/transform/LayerNorm/beta:0");
  EXPECT_EQ(tf2.order.back(),
            "mlm___cls/tf_bert_for_pre_training/bert/embeddings/LayerNorm/beta:0");
  EXPECT_EQ(tf2.tensors.at("nsp___cls/tf_bert_for_pre_training/nsp___cls/seq_relationship/kernel:0")
                .entry.shape,
            (Shape{16, 2}));
  bool skipped_step = false;
  for (const auto& s : tf2.plan.skipped) skipped_step |= s.name == "global_step";
  EXPECT_TRUE(skipped_step);

  const ModelSource tsrc =
      source_in(dir / "tf2", bert(), Convention::kHfTf2, read_file(dir / "tf2" / "config.json"));
  FakeReader treader(as_source(tf2.tensors));
  Converted back = run(tsrc, treader, Convention::kHfPyTorch, dir / "back");
  EXPECT_EQ(back.plan.ties.size(), 5u);  // the Keras duplicates, checked equal
  for (const auto& t : tensors) {
    std::string name = bert().normalize_source_name(Convention::kHfPyTorch, t.entry.name);
    if (name.find("decoder") != std::string::npos || name.find("position_ids") != std::string::npos)
      continue;
    ASSERT_TRUE(back.tensors.count(name)) << name;
    EXPECT_EQ(back.tensors.at(name).bytes, t.bytes) << name;
  }
}

TEST(BertConvert, GoogleHeadsAndTrainingStateFromAFineTunedCheckpoint) {
  const fs::path dir = fresh_dir("bert_finetuned");
  // A run_classifier output: bert/*, top-level output_weights/bias (3 labels), Adam slots,
  // global_step; bert_config.json without type_vocab_size.
  auto j = nlohmann::json::parse(kBertConfig);
  j.erase("architectures");
  j.erase("model_type");
  j.erase("type_vocab_size");
  const ModelConfig config = bert().read_config(Convention::kHfPyTorch, kBertConfig, "c");
  ModelConfig c3 = config;
  c3.symbols['C'] = 3;
  auto tensors =
      synthesize(bert(), c3, Convention::kGoogleTf1, {"base", "pooler", "classifier"}, "", "");
  tensors.push_back(
      make_tensor("bert/pooler/dense/kernel/adam_m", {16, 16}, 1, TensorRole::kOptimizerSlot));
  tensors.push_back(make_tensor("output_weights/adam_v", {3, 16}, 2));  // unmarked by the reader
  auto step = make_tensor("global_step", {}, 0, TensorRole::kCounter, DType::kI64);
  step.bytes = {std::byte{42}, {}, {}, {}, {}, {}, {}, {}};
  tensors.push_back(step);
  const ModelSource src = source_in(dir / "g", bert(), Convention::kGoogleTf1, j.dump());
  {
    FakeReader reader(tensors);
    Converted hf = run(src, reader, Convention::kHfPyTorch, dir / "hf");
    EXPECT_EQ(hf.plan.hf_class, "BertForSequenceClassification");
    for (const auto& t : tensors)  // output_weights is [labels, hidden] already: no transpose
      if (t.entry.name == "output_weights")
        EXPECT_EQ(hf.tensors.at("classifier.weight").bytes, t.bytes);
    const auto cfg = nlohmann::json::parse(read_file(dir / "hf" / "config.json"));
    EXPECT_EQ(cfg["id2label"].size(), 3u);
    EXPECT_EQ(cfg["type_vocab_size"], 3);
    std::set<std::string> skipped;
    for (const auto& s : hf.plan.skipped) skipped.insert(s.name + ": " + s.reason);
    EXPECT_EQ(skipped,
              (std::set<std::string>{"bert/pooler/dense/kernel/adam_m: optimizer slot (adam_m)",
                                     "output_weights/adam_v: optimizer slot (adam_v)",
                                     "global_step: training counter"}));
  }
  {
    FakeReader reader(tensors);
    Converted g = run(src, reader, Convention::kGoogleTf1, dir / "g2");
    EXPECT_EQ(g.tensors.at("global_step").bytes[0], std::byte{42});
    EXPECT_EQ(g.tensors.at("output_weights").entry.shape, (Shape{3, 16}));
  }
  {
    FakeReader reader(tensors);
    Converted tf2 = run(src, reader, Convention::kHfTf2, dir / "tf2");
    EXPECT_EQ(tf2.plan.tf2_layers, (std::vector<std::string>{"bert", "dropout_7", "classifier"}));
    EXPECT_EQ(tf2.tensors.at("classifier/tf_bert_for_sequence_classification/classifier/kernel:0")
                  .entry.shape,
              (Shape{16, 3}));
  }
}

TEST(BertConvert, QuestionAnsweringDropsThePoolerWithAReason) {
  const fs::path dir = fresh_dir("bert_qa");
  const ModelConfig config = bert().read_config(Convention::kHfPyTorch, kBertConfig, "c");
  auto tensors =
      synthesize(bert(), config, Convention::kGoogleTf1, {"base", "pooler", "qa"}, "", "");
  const ModelSource src = source_in(dir / "g", bert(), Convention::kGoogleTf1, kBertConfig);
  FakeReader reader(tensors);
  Converted hf = run(src, reader, Convention::kHfPyTorch, dir / "hf");
  EXPECT_EQ(hf.plan.hf_class, "BertForQuestionAnswering");
  EXPECT_TRUE(hf.tensors.count("qa_outputs.weight"));
  EXPECT_TRUE(hf.tensors.count("bert.embeddings.word_embeddings.weight"));
  ASSERT_EQ(hf.plan.skipped.size(), 2u);
  EXPECT_EQ(hf.plan.skipped[0].reason,
            "BertForQuestionAnswering has no pooler (bert.pooler.dense)");
}

TEST(BertConvert, RefusesWhatGoogleCannotExpress) {
  const fs::path dir = fresh_dir("bert_refuse");
  const ModelConfig config = bert().read_config(Convention::kHfPyTorch, kBertConfig, "c");
  auto tensors = synthesize(bert(), config, Convention::kHfPyTorch, {"base", "pooler"}, "", "");
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"layer_norm_eps", "1e-5"},
           {"position_embedding_type", "\"relative_key\""},
           {"hidden_act", "\"gelu_new\""}}) {
    auto j = nlohmann::json::parse(kBertConfig);
    j[key] = nlohmann::json::parse(value);
    const ModelSource src = source_in(dir / "hf", bert(), Convention::kHfPyTorch, j.dump());
    FakeReader reader(tensors);
    EXPECT_THROW(make_plan(src, reader, (dir / "o").string(), {.to = Convention::kGoogleTf1}),
                 Error)
        << key;
  }
}

TEST(BertConvert, RefusesAClassTheTableDoesNotDescribe) {
  const fs::path dir = fresh_dir("bert_token");
  auto j = nlohmann::json::parse(kBertConfig);
  j["architectures"] = {"BertForTokenClassification"};
  const ModelConfig config = bert().read_config(Convention::kHfPyTorch, j.dump(), "c");
  ModelConfig c5 = config;
  c5.symbols['C'] = 5;
  auto tensors =
      synthesize(bert(), c5, Convention::kHfPyTorch, {"base", "classifier"}, "bert.", "");
  const ModelSource src = source_in(dir / "hf", bert(), Convention::kHfPyTorch, j.dump());
  FakeReader reader(tensors);
  try {
    make_plan(src, reader, (dir / "o").string(), {.to = Convention::kGoogleTf1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("BertForTokenClassification"), std::string::npos);
  }
  // --class BertModel converts the encoder and reports the head as skipped.
  FakeReader reader2(tensors);
  Plan plan = make_plan(src, reader2, (dir / "o").string(),
                        {.to = Convention::kHfPyTorch, .hf_class = "BertModel"});
  EXPECT_EQ(plan.hf_class, "BertModel");
  EXPECT_EQ(plan.skipped.size(), 2u);
}

// DistilBERT's rows are BERT's under DistilBERT's module names, without token types.
TEST(DistilBertConvert, BertsRowsUnderDistilBertsNames) {
  const Family& f = *family_by_name("distilbert");
  std::map<std::string, const ParamRow*> rows;
  for (const ParamRow& row : f.params()) rows[std::string(row.canonical)] = &row;
  constexpr auto kPt = static_cast<size_t>(Convention::kHfPyTorch);
  constexpr auto kTf2 = static_cast<size_t>(Convention::kHfTf2);
  const ParamRow& q = *rows.at("transformer.layer.{i}.attention.q_lin.weight");
  EXPECT_EQ(q.stored[kPt].name, "{base}transformer.layer.{i}.attention.q_lin.weight");
  EXPECT_EQ(q.stored[kTf2].name,
            "distilbert/{scope}/distilbert/transformer/layer_._{i}/attention/q_lin/kernel:0");
  EXPECT_EQ(q.stored[kTf2].layout, Layout::kTranspose);
  const ParamRow& lin1 = *rows.at("transformer.layer.{i}.ffn.lin1.weight");
  EXPECT_EQ(lin1.shape, "I,H");
  EXPECT_EQ(lin1.stored[kTf2].shape, "H,I");
  EXPECT_EQ(rows.at("transformer.layer.{i}.sa_layer_norm.weight")->stored[kTf2].name,
            "distilbert/{scope}/distilbert/transformer/layer_._{i}/sa_layer_norm/gamma:0");
  EXPECT_EQ(rows.at("embeddings.position_embeddings.weight")->stored[kTf2].name,
            "distilbert/{scope}/distilbert/embeddings/position_embeddings/embeddings:0");
  EXPECT_EQ(rows.at("vocab_projector.bias")->stored[kTf2].name,
            "vocab_projector/{scope}/vocab_projector/bias:0");
  EXPECT_EQ(rows.at("pre_classifier.weight")->stored[kPt].name, "pre_classifier.weight");
  EXPECT_EQ(rows.at("pre_classifier.weight")->group, "classifier");
  EXPECT_TRUE(rows.at("vocab_projector.weight")->stored[kTf2].name.empty());
  EXPECT_FALSE(rows.contains("embeddings.token_type_embeddings.weight"));
  // 4 embedding rows and 16 per layer; MLM 5, classifier 4, QA 2, the untied projector 1.
  EXPECT_EQ(rows.size(), 32u);
  for (const ParamRow& row : f.params())
    EXPECT_TRUE(row.stored[static_cast<size_t>(Convention::kGoogleTf1)].name.empty());
}

TEST(DistilBertConvert, ConfigKeysAndWhatTf2CannotExpress) {
  const Family& f = *family_by_name("distilbert");
  // hidden_size is DistilBertConfig's attribute-map spelling of dim.
  const ModelConfig c = f.read_config(
      Convention::kHfPyTorch,
      R"({"model_type": "distilbert", "vocab_size": 50, "hidden_size": 16, "n_layers": 2,
          "n_heads": 2, "hidden_dim": 24, "max_position_embeddings": 20})",
      "config.json");
  EXPECT_EQ(c.symbols.at('H'), 16u);
  EXPECT_EQ(c.symbols.at('I'), 24u);
  EXPECT_EQ(c.symbols.at('L'), 2u);
  EXPECT_FALSE(c.symbols.contains('T'));
  EXPECT_EQ(c.hf.at("dim"), 16);
  EXPECT_FALSE(c.hf.contains("hidden_size"));
  EXPECT_EQ(c.hf.at("activation"), "gelu");
  EXPECT_TRUE(f.matches_hf_config({{"architectures", {"DistilBertForMaskedLM"}}}));
  EXPECT_FALSE(f.matches_hf_config({{"model_type", "bert"}}));
  EXPECT_FALSE(family_by_name("bert")->matches_hf_config(
      {{"architectures", {"DistilBertForMaskedLM"}}, {"dim", 16}, {"n_heads", 2}}));

  auto refused = [&](Convention to, const ModelConfig& config,
                     const std::vector<std::string>& groups, const std::string& why) {
    try {
      f.check_expressible(to, config, groups);
      ADD_FAILURE() << why;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  ModelConfig relu6 = c;
  relu6.hf["activation"] = "relu6";  // PyTorch's ACT2FN has it, TF's does not
  refused(Convention::kHfTf2, relu6, {"base"}, "activations_tf");
  EXPECT_TRUE(f.check_expressible(Convention::kHfPyTorch, relu6, {"base"}).empty());
  refused(Convention::kHfTf2, c, {"base", "mlm", "untied_decoder"}, "not tied");
  ModelConfig sinusoidal = c;
  sinusoidal.hf["sinusoidal_pos_embds"] = true;
  EXPECT_EQ(f.check_expressible(Convention::kHfTf2, sinusoidal, {"base"}).size(), 1u);

  try {
    f.read_config(Convention::kHfPyTorch, R"({"dim": 16, "n_heads": 5})", "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("dim 16 is not a multiple of n_heads 5"),
              std::string::npos)
        << e.what();
  }
}

TEST(BertConvert, DryRunJsonListsEveryTensor) {
  const fs::path dir = fresh_dir("bert_json");
  const ModelConfig config = bert().read_config(Convention::kHfPyTorch, kBertConfig, "c");
  auto tensors = synthesize(bert(), config, Convention::kHfPyTorch, {"base", "pooler"}, "", "");
  const ModelSource src = source_in(dir / "hf", bert(), Convention::kHfPyTorch, kBertConfig);
  FakeReader reader(tensors);
  Plan plan = make_plan(src, reader, (dir / "o").string(), {.to = Convention::kGoogleTf1});
  EXPECT_EQ(reader.reads, 0);
  const auto doc = plan_to_json(plan, nullptr);
  EXPECT_EQ(doc["tensors"].size(), tensors.size() + 1);
  EXPECT_EQ(doc["hf_class"], "BertForPreTraining");  // the source config's architecture
  const std::string text = plan_to_text(plan, nullptr);
  EXPECT_NE(text.find("encoder.layer.0.attention.self.query.weight [16, 16] f32 -> "
                      "bert/encoder/layer_0/attention/self/query/kernel [16, 16] f32  transpose"),
            std::string::npos)
      << text;
  EXPECT_FALSE(fs::exists(dir / "o"));
}

// ---------------------------------------------------------------------------------------------
// Layout and casts.

TEST(Layout, TransposeMatchesTheNaiveLoopForEveryElementSize) {
  for (size_t size : {1, 2, 4, 8}) {
    for (auto [rows, cols] : std::vector<std::pair<uint64_t, uint64_t>>{
             {1, 1}, {3, 5}, {8, 8}, {64, 64}, {65, 130}, {200, 7}, {40, 16}, {1030, 36}}) {
      std::vector<std::byte> src(rows * cols * size), dst(src.size()), expect(src.size());
      for (size_t i = 0; i < src.size(); ++i) src[i] = std::byte(i * 31 + 7);
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t c = 0; c < cols; ++c)
          std::memcpy(&expect[(c * rows + r) * size], &src[(r * cols + c) * size], size);
      transpose_2d(src.data(), dst.data(), rows, cols, size);
      EXPECT_EQ(dst, expect) << size << " " << rows << "x" << cols;
    }
  }
}

TEST(Cast, HalfPrecisionRoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // halfway to 65536 rounds to even: infinity
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // exactly half: to even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);         // 1.5 units: ties to even (2)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie: to even
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie: to even (up)
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(NAN) & 0x7e00, 0x7e00);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t half = static_cast<uint16_t>(h);
    const float f = f16_to_f32(half);
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), half) << h;  // every half survives the round trip
  }
}

TEST(Cast, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x7f7fffffu)), 0x7f80);  // max float -> inf
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), h);
  }
  // f16 -> bf16 -> f32 agrees with rounding the exact value once.
  const uint16_t half = f32_to_f16(3.140625f);
  std::byte in[2], out[2];
  std::memcpy(in, &half, 2);
  cast_elements(in, DType::kF16, out, DType::kBF16, 1);
  uint16_t b;
  std::memcpy(&b, out, 2);
  EXPECT_EQ(b, f32_to_bf16(3.140625f));
}

}  // namespace
}  // namespace tensorferry
