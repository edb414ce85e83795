// Model conversion test fixtures: in-memory checkpoints (a fake reader and writer), synthetic
// models built from a family's table, and the helpers that plan and run a conversion into them.
// Shared by the family tests (models_test.cc, llama_models_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "convert/execute.h"
#include "convert/plan.h"
#include "core/checkpoint.h"
#include "models/family.h"

namespace tensorferry::testing_models {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Fakes.

struct StoredTensor {
  TensorEntry entry;
  std::vector<std::byte> bytes;
};
using TensorMap = std::map<std::string, StoredTensor>;

class FakeReader : public CheckpointReader {
 public:
  explicit FakeReader(std::vector<StoredTensor> tensors) : tensors_(std::move(tensors)) {
    for (auto& t : tensors_) entries_.push_back(t.entry);
  }
  std::string format() const override { return "fake"; }
  std::string path() const override { return "fake.ckpt"; }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::span<const std::byte> read(size_t i, std::vector<std::byte>&) override {
    ++reads;
    return tensors_.at(i).bytes;
  }
  void release(size_t) override { ++releases; }
  int reads = 0, releases = 0;

 private:
  std::vector<StoredTensor> tensors_;
  std::vector<TensorEntry> entries_;
};

class FakeWriter : public CheckpointWriter {
 public:
  FakeWriter(TensorMap* out, std::vector<std::string>* order) : out_(out), order_(order) {}
  void begin(const std::vector<TensorInfo>& tensors) override { infos_ = tensors; }
  void write(size_t i, std::span<const std::byte> bytes) override {
    ASSERT_EQ(i, next_++);
    ASSERT_EQ(bytes.size(), infos_[i].nbytes) << infos_[i].name;
    StoredTensor t;
    static_cast<TensorInfo&>(t.entry) = infos_[i];
    t.bytes.assign(bytes.begin(), bytes.end());
    pending_[infos_[i].name] = std::move(t);
    order_->push_back(infos_[i].name);
  }
  void commit() override {
    ASSERT_EQ(next_, infos_.size());
    *out_ = std::move(pending_);
  }

 private:
  TensorMap* out_;
  std::vector<std::string>* order_;
  std::vector<TensorInfo> infos_;
  TensorMap pending_;
  size_t next_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Helpers.

inline fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / ("tf_models_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

inline void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::vector<std::byte> random_floats(uint64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<std::byte> bytes(count * 4);
  for (uint64_t i = 0; i < count; ++i) {
    const float v = dist(rng);
    std::memcpy(bytes.data() + 4 * i, &v, 4);
  }
  return bytes;
}

inline StoredTensor make_tensor(const std::string& name, Shape shape, uint32_t seed,
                                TensorRole role = TensorRole::kWeight, DType dtype = DType::kF32) {
  StoredTensor t;
  t.entry.name = name;
  t.entry.dtype = dtype;
  t.entry.shape = shape;
  t.entry.role = role;
  const uint64_t n = *num_elements(shape);
  if (dtype == DType::kF32) {
    t.bytes = random_floats(n, seed);
  } else {
    t.bytes.assign(n * dtype_size(dtype), std::byte{0});
    for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = std::byte(seed + i);
  }
  t.entry.nbytes = t.bytes.size();
  return t;
}

// A model in `convention` with every parameter of `groups`, named as class `cls` would.
inline std::vector<StoredTensor> synthesize(const Family& family, const ModelConfig& config,
                                            Convention c, const std::vector<std::string>& groups,
                                            std::string_view base, std::string_view scope) {
  std::vector<StoredTensor> out;
  uint32_t seed = 1;
  const int layers = static_cast<int>(config.symbols.at('L'));
  for (const auto& row : family.params()) {
    if (std::find(groups.begin(), groups.end(), row.group) == groups.end()) continue;
    const StoredForm& form = row.stored[static_cast<size_t>(c)];
    for (int l = 0; l < (row.per_layer ? layers : 1); ++l)
      out.push_back(make_tensor(expand_template(form.name, l, base, scope),
                                *evaluate_shape(parse_shape_expr(form.shape), config.symbols),
                                seed++));
  }
  return out;
}

struct Converted {
  Plan plan;
  TensorMap tensors;
  std::vector<std::string> order;
  fs::path folder;
};

inline ModelSource source_in(const fs::path& folder, const Family& family, Convention c,
                             const std::string& config_text) {
  fs::create_directories(folder);
  ModelSource s;
  s.family = &family;
  s.convention = c;
  s.folder = folder.string();
  s.config_path = (folder / family.config_file(c)).string();
  write_file(s.config_path, config_text);
  s.checkpoint = "fake.ckpt";
  return s;
}

inline Converted run(const ModelSource& source, FakeReader& reader, Convention to,
                     const fs::path& out, ModelConvertOptions options = {}) {
  options.to = to;
  Converted result;
  result.plan = make_plan(source, reader, out.string(), options);
  result.folder = out;
  execute_plan(result.plan, reader, [&](const Plan&, const fs::path&) {
    return std::make_unique<FakeWriter>(&result.tensors, &result.order);
  });
  return result;
}

inline std::vector<StoredTensor> as_source(const TensorMap& map) {
  std::vector<StoredTensor> out;
  for (const auto& [name, t] : map) out.push_back(t);
  return out;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline const std::string kGpt2Config =
    R"({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
  "vocab_size": 100, "n_positions": 24, "n_embd": 16, "n_layer": 2, "n_head": 2})";
inline const std::string kBertConfig =
    R"({"model_type": "bert", "architectures": ["BertForPreTraining"],
  "vocab_size": 90, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
  "intermediate_size": 24, "max_position_embeddings": 20, "type_vocab_size": 3})";

// Grouped-query attention (4 query heads, 2 key/value heads of width 4) with a distinct MLP width.
inline const std::string kLlamaConfig = R"({"model_type": "llama",
  "architectures": ["LlamaForCausalLM"], "vocab_size": 80, "hidden_size": 16,
  "intermediate_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "rope_theta": 500000.0, "tie_word_embeddings": false})";

inline const Family& gpt2() { return *family_by_name("gpt2"); }
inline const Family& bert() { return *family_by_name("bert"); }
inline const Family& llama() { return *family_by_name("llama"); }

inline std::vector<float> floats(const StoredTensor& t) {
  std::vector<float> v(t.bytes.size() / 4);
  std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

}  // namespace tensorferry::testing_models
