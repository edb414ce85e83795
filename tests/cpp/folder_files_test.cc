// The files of a model folder besides its weights (issue 12 items 3, 4, 8): what a conversion
// carries over, generates, and lists as left behind; GPT-2 special tokens from encoder.json;
// training state summed up by kind. The real loaders (sentence-transformers, transformers) are
// exercised by tests/python/cross/test_folder_files.py.
#include "convert/folder_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "convert/execute.h"
#include "convert/plan.h"
#include "convert/report.h"
#include "core/error.h"
#include "core/training_state.h"
#include "models/family.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

class NoReader : public CheckpointReader {
 public:
  std::string format() const override { return "fake"; }
  std::string path() const override { return "fake"; }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::span<const std::byte> read(size_t, std::vector<std::byte>&) override { return {}; }

 private:
  std::vector<TensorEntry> entries_;
};

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::path(testing::TempDir()) / ("tf_folder_files_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A plan with only what plan_folder_files reads.
Plan plan_for(const fs::path& folder, const char* family, Convention from, Convention to,
              const std::string& checkpoint, Format format) {
  Plan plan;
  plan.family = family_by_name(family);
  plan.source.family = plan.family;
  plan.source.convention = from;
  plan.source.folder = folder.string();
  plan.source.config_path = (folder / plan.family->config_file(from)).string();
  plan.source.checkpoint = (folder / checkpoint).string();
  plan.source.format = format;
  plan.to = to;
  return plan;
}

std::map<std::string, std::string> left_behind(const Plan& plan) {
  std::map<std::string, std::string> out;
  for (const auto& l : plan.left_behind) out[l.name] = l.reason;
  return out;
}

std::map<std::string, std::string> carried(const Plan& plan) {
  std::map<std::string, std::string> out;
  for (const auto& f : plan.files)
    out[f.target] = fs::path(f.source).lexically_relative(plan.source.folder).string();
  return out;
}

// A sentence-transformers folder as the hub has all-MiniLM-L6-v2.
fs::path sentence_transformers_folder(const std::string& name) {
  fs::path dir = fresh_dir(name);
  for (const char* f :
       {"config.json", "model.safetensors", "pytorch_model.bin", "tf_model.h5", "vocab.txt",
        "tokenizer.json", "README.md", "modules.json", "sentence_bert_config.json",
        "config_sentence_transformers.json", "train_script.py", "1_Pooling/config.json",
        "onnx/model.onnx", "onnx/model_O1.onnx"}) {
    // Carried *.json files are checked to be JSON (convert/carried_file.h): a JSON string.
    const std::string text = std::string(f) + " of " + name;
    write_file(dir / f, std::string_view(f).ends_with(".json") ? "\"" + text + "\"" : text);
  }
  write_file(
      dir / "modules.json",
      R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
                 {"idx": 3, "name": "3", "path": "../escape", "type": "x"}])");
  fs::create_directories(dir / "2_Normalize");
  return dir;
}

TEST(FolderFiles, SentenceTransformersFilesGoToHfTargets) {
  const fs::path dir = sentence_transformers_folder("st");
  NoReader reader;
  Plan plan = plan_for(dir, "bert", Convention::kHfPyTorch, Convention::kHfTf2, "model.safetensors",
                       Format::kSafetensors);
  plan_folder_files(plan, reader);
  EXPECT_EQ(carried(plan),
            (std::map<std::string, std::string>{
                {"1_Pooling/config.json", "1_Pooling/config.json"},
                {"README.md", "README.md"},
                {"config_sentence_transformers.json", "config_sentence_transformers.json"},
                {"modules.json", "modules.json"},
                {"sentence_bert_config.json", "sentence_bert_config.json"},
                {"tokenizer.json", "tokenizer.json"},
                {"vocab.txt", "vocab.txt"}}));
  const auto left = left_behind(plan);
  EXPECT_EQ(left.size(), 4u);
  EXPECT_EQ(left.at("pytorch_model.bin"),
            "other weights, not converted (the conversion read model.safetensors)");
  EXPECT_EQ(left.at("tf_model.h5"),
            "other weights, not converted (the conversion read model.safetensors)");
  EXPECT_EQ(left.at("train_script.py"), "not a file hf-tf2 loaders read");
  EXPECT_EQ(left.at("onnx/ (2 files)"), "a folder hf-tf2 loaders do not read");

  // An empty module folder (Normalize has no files) is recreated by nothing: sentence-transformers
  // loads Normalize without one, so it needs no line either.
  const std::string text = plan_to_text(plan, nullptr);
  EXPECT_NE(text.find("note: train_script.py not carried over: not a file hf-tf2 loaders read"),
            std::string::npos)
      << text;
}

TEST(FolderFiles, SentenceTransformersFilesAreListedForTf1Targets) {
  const fs::path dir = sentence_transformers_folder("st_tf1");
  NoReader reader;
  Plan plan = plan_for(dir, "bert", Convention::kHfPyTorch, Convention::kGoogleTf1,
                       "model.safetensors", Format::kSafetensors);
  plan_folder_files(plan, reader);
  EXPECT_EQ(carried(plan), (std::map<std::string, std::string>{{"vocab.txt", "vocab.txt"}}));
  const auto left = left_behind(plan);
  EXPECT_EQ(left.at("modules.json"), "google-tf1 has no such file");
  EXPECT_EQ(left.at("tokenizer.json"), "google-tf1 has no such file");
  EXPECT_EQ(left.at("1_Pooling/"), "sentence-transformers module; google-tf1 has no such file");
  EXPECT_EQ(left.at("2_Normalize/"), "sentence-transformers module; google-tf1 has no such file");
}

TEST(FolderFiles, TrainingRunFilesOfATf1FolderAreListed) {
  const fs::path dir = fresh_dir("tf1_run");
  for (const char* f : {"bert_config.json", "vocab.txt", "checkpoint", "model.ckpt-1.index",
                        "model.ckpt-1.data-00000-of-00001", "model.ckpt-3.index",
                        "model.ckpt-3.data-00000-of-00001", "model.ckpt-3.meta",
                        "model.ckpt-1.meta", "events.out.tfevents.1700000000.host", "counter",
                        "graph.pbtxt", "eval/events.out.tfevents.1", "eval/x"})
    write_file(dir / f, f);
  NoReader reader;
  for (Convention to : {Convention::kHfPyTorch, Convention::kGoogleTf1}) {
    Plan plan =
        plan_for(dir, "bert", Convention::kGoogleTf1, to, "model.ckpt-3", Format::kTfBundle);
    plan_folder_files(plan, reader);
    const auto left = left_behind(plan);
    const std::string target(convention_name(to));
    EXPECT_EQ(left.at("model.ckpt-1.* (2 files)"),
              "another TensorFlow checkpoint, not converted (the conversion read model.ckpt-3)");
    EXPECT_EQ(left.at("model.ckpt-3.meta"),
              std::string("TF1 graph of a checkpoint (MetaGraphDef)") +
                  (to == Convention::kGoogleTf1 ? "; the output has its own model.ckpt.meta" : ""));
    EXPECT_TRUE(left.count("model.ckpt-1.meta"));
    EXPECT_EQ(left.at("events.out.tfevents.1700000000.host"),
              "TensorBoard event log of the training run");
    EXPECT_EQ(left.at("counter"), "training step counter of the run that wrote the checkpoint");
    EXPECT_EQ(left.at("graph.pbtxt"), "graph of the training run (text)");
    EXPECT_EQ(left.at("eval/ (2 files)"), "a folder " + target + " loaders do not read");
    EXPECT_EQ(left.size(), 7u) << target;
    EXPECT_EQ(carried(plan), (std::map<std::string, std::string>{{"vocab.txt", "vocab.txt"}}));
  }
}

TEST(FolderFiles, ALinkOutOfTheFolderIsRefused) {
  const fs::path dir = fresh_dir("link");
  const fs::path outside = fresh_dir("link_outside");
  write_file(outside / "secret", "not the model's");
  write_file(dir / "inside.txt", "ok");
  fs::create_symlink(outside / "secret", dir / "README.md");
  fs::create_symlink("inside.txt", dir / "linked.txt");
  EXPECT_EQ(open_folder_file(dir, "linked.txt").read_all(100, "the file"), "ok");
  try {
    open_folder_file(dir, "README.md");
    FAIL() << "a link out of the folder was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(std::string(e.what()).find("outside the folder"), std::string::npos) << e.what();
  }
  EXPECT_THROW(open_folder_file(dir, "missing"), Error);
  EXPECT_THROW(open_folder_file(dir, "."), Error);
}

// OpenAI's sample.py starts text with encoder['<|endoftext|>']; the HF config must agree.
TEST(Gpt2SpecialTokens, BosAndEosAreTheIdOfEndOfTextInEncoderJson) {
  const Family& gpt2 = *family_by_name("gpt2");
  const std::string hparams =
      R"({"n_vocab": 5, "n_ctx": 8, "n_embd": 4, "n_head": 2, "n_layer": 1})";
  const fs::path dir = fresh_dir("gpt2_tokens");
  write_file(dir / "encoder.json", R"({"<|endoftext|>": 0, "a": 1, "b": 2, "c": 3, "d": 4})");
  ModelConfig config = gpt2.read_config(Convention::kOpenAiTf1, hparams, "hparams.json");
  EXPECT_TRUE(gpt2.complete_config(Convention::kOpenAiTf1, config, folder_file_reader(dir.string()))
                  .empty());
  EXPECT_EQ(config.hf["bos_token_id"], 0);
  EXPECT_EQ(config.hf["eos_token_id"], 0);
  const auto generated =
      gpt2.generated_files(Convention::kOpenAiTf1, Convention::kHfPyTorch, config);
  ASSERT_EQ(generated.size(), 1u);
  EXPECT_EQ(generated[0].name, "generation_config.json");
  const auto generation = nlohmann::json::parse(generated[0].text);
  EXPECT_EQ(generation["bos_token_id"], 0);
  EXPECT_EQ(generation["eos_token_id"], 0);
  EXPECT_TRUE(gpt2.generated_files(Convention::kHfTf2, Convention::kHfPyTorch, config).empty());
  EXPECT_TRUE(gpt2.generated_files(Convention::kHfPyTorch, Convention::kOpenAiTf1, config).empty());

  // An id the model has no row for is a broken folder; a vocabulary without the token is noted.
  write_file(dir / "encoder.json", R"({"<|endoftext|>": 5})");
  EXPECT_THROW(
      gpt2.complete_config(Convention::kOpenAiTf1, config, folder_file_reader(dir.string())),
      Error);
  write_file(dir / "encoder.json", R"({"a": 0})");
  config = gpt2.read_config(Convention::kOpenAiTf1, hparams, "hparams.json");
  EXPECT_EQ(
      gpt2.complete_config(Convention::kOpenAiTf1, config, folder_file_reader(dir.string())).size(),
      1u);
  EXPECT_EQ(config.hf["bos_token_id"], 4);
}

TensorEntry entry(const std::string& name, TensorRole role) {
  TensorEntry e;
  e.name = name;
  e.role = role;
  return e;
}

TEST(TrainingState, DescribedAndSummedUpByKind) {
  std::vector<TrainingState> states;
  for (const char* var : {"a/kernel", "a/bias", "b/kernel"})
    for (const char* slot : {"/Adam", "/Adam_1"})
      states.push_back(
          *training_state_of(entry(std::string(var) + slot, TensorRole::kOptimizerSlot), false));
  states.push_back(*training_state_of(entry("beta1_power", TensorRole::kOptimizerSlot), false));
  states.push_back(*training_state_of(entry("global_step", TensorRole::kCounter), false));
  EXPECT_EQ(summarize_training_state(states), "7 optimizer slots (Adam, beta1_power), global_step");
  EXPECT_EQ(describe_training_state(states[1]), "optimizer slot (Adam)");
  EXPECT_EQ(describe_training_state(states.back()), "training counter");

  // TF2 keys, Google BERT's slot names, and the TF1 names of a reader that marks nothing.
  EXPECT_EQ(training_state_of(entry("model/dense/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/"
                                    "VARIABLE_VALUE",
                                    TensorRole::kOptimizerSlot),
                              false)
                ->detail,
            "m");
  EXPECT_EQ(training_state_of(
                entry("save_counter/.ATTRIBUTES/VARIABLE_VALUE", TensorRole::kCounter), false)
                ->detail,
            "save_counter");
  EXPECT_EQ(training_state_of(entry("bert/x/adam_v", TensorRole::kWeight), true)->detail, "adam_v");
  EXPECT_FALSE(training_state_of(entry("bert/x/adam_v", TensorRole::kWeight), false));
  EXPECT_FALSE(training_state_of(entry("Adam", TensorRole::kWeight), true));
  EXPECT_FALSE(training_state_of(entry("pos", TensorRole::kBuffer), true));
  const auto graph =
      training_state_of(entry("_CHECKPOINTABLE_OBJECT_GRAPH", TensorRole::kObjectGraph), false);
  EXPECT_EQ(summarize_training_state({*graph}), "TF2 object graph");
}

}  // namespace
}  // namespace tensorferry
