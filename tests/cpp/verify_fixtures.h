// Synthetic checkpoints for the verify unit tests: random weights of tiny GPT-2 and BERT models,
// laid out in each convention by the tests' own literal renaming rules (written from the
// frameworks' converters, independently of verify/convention.cc), served by an in-memory reader.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "models/bert/bert_verify.h"
#include "models/gpt2/gpt2_verify.h"
#include "models/llama/llama_verify.h"
#include "verify/model.h"
#include "verify/numeric.h"

namespace tensorferry::verify::testing {

struct FakeTensor {
  std::string name;
  Shape shape;
  std::vector<float> values;
  DType dtype = DType::kF32;
  TensorRole role = TensorRole::kWeight;
};

class FakeReader : public CheckpointReader {
 public:
  explicit FakeReader(std::vector<FakeTensor> tensors, std::string path = "fake")
      : path_(std::move(path)) {
    for (auto& t : tensors) {
      TensorEntry e;
      e.name = t.name;
      e.dtype = t.dtype;
      e.shape = t.shape;
      e.role = t.role;
      e.file = path_;
      std::vector<std::byte> bytes;
      if (t.dtype == DType::kF32) {
        bytes.resize(t.values.size() * 4);
        std::memcpy(bytes.data(), t.values.data(), bytes.size());
      } else if (t.dtype == DType::kF16) {
        for (float v : t.values) {
          const uint16_t h = float_to_half(v);
          bytes.push_back(static_cast<std::byte>(h & 0xff));
          bytes.push_back(static_cast<std::byte>(h >> 8));
        }
      } else if (t.dtype == DType::kF64) {
        bytes.resize(t.values.size() * 8);
        for (size_t i = 0; i < t.values.size(); ++i) {
          const double d = t.values[i];
          std::memcpy(bytes.data() + 8 * i, &d, 8);
        }
      } else if (t.dtype == DType::kI64) {
        bytes.resize(t.values.size() * 8);
        for (size_t i = 0; i < t.values.size(); ++i) {
          const int64_t v = static_cast<int64_t>(t.values[i]);
          std::memcpy(bytes.data() + 8 * i, &v, 8);
        }
      }
      e.nbytes = bytes.size();
      entries_.push_back(e);
      data_.push_back(std::move(bytes));
    }
  }
  std::string format() const override { return "fake"; }
  std::string path() const override { return path_; }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::span<const std::byte> read(size_t index, std::vector<std::byte>&) override {
    return data_[index];
  }

 private:
  std::string path_;
  std::vector<TensorEntry> entries_;
  std::vector<std::vector<std::byte>> data_;
};

// Canonical weights: HF PyTorch names and layouts (GPT-2 Conv1D [in, out]; BERT Linear
// [out, in]), no head-class prefix.
using Weights = std::map<std::string, FakeTensor>;

inline std::vector<float> random_values(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline void add(Weights& w, std::mt19937& rng, const std::string& name, Shape shape, float scale,
                float offset = 0) {
  uint64_t n = 1;
  for (auto d : shape) n *= d;
  auto values = random_values(rng, n, scale);
  for (auto& v : values) v += offset;
  w[name] = FakeTensor{name, shape, values};
}

inline ModelConfig tiny_gpt2_config() {
  ModelConfig c;
  c.family = &gpt2_verify_family();
  c.vocab_size = 61;
  c.max_positions = 48;
  c.hidden = 16;
  c.layers = 4;
  c.heads = 4;
  c.inner = 64;
  c.layer_norm_eps = 1e-5;
  c.activation = Activation::kGeluTanh;
  c.activation_name = "gelu_new";
  c.file = "config.json";
  return c;
}

inline ModelConfig tiny_bert_config() {
  ModelConfig c;
  c.family = &bert_verify_family();
  c.vocab_size = 53;
  c.max_positions = 44;
  c.hidden = 16;
  c.layers = 3;
  c.heads = 4;
  c.inner = 24;
  c.type_vocab_size = 2;
  c.layer_norm_eps = 1e-12;
  c.activation = Activation::kGeluErf;
  c.activation_name = "gelu";
  c.file = "config.json";
  return c;
}

inline Weights random_gpt2(const ModelConfig& c, unsigned seed, float scale = 0.3f) {
  std::mt19937 rng(seed);
  Weights w;
  const uint64_t E = c.hidden, I = c.inner;
  add(w, rng, "wte.weight", {uint64_t(c.vocab_size), E}, scale);
  add(w, rng, "wpe.weight", {uint64_t(c.max_positions), E}, scale);
  for (int i = 0; i < c.layers; ++i) {
    const std::string p = "h." + std::to_string(i) + ".";
    add(w, rng, p + "ln_1.weight", {E}, 0.1f, 1.0f);
    add(w, rng, p + "ln_1.bias", {E}, 0.1f);
    add(w, rng, p + "attn.c_attn.weight", {E, 3 * E}, scale);
    add(w, rng, p + "attn.c_attn.bias", {3 * E}, 0.1f);
    add(w, rng, p + "attn.c_proj.weight", {E, E}, scale);
    add(w, rng, p + "attn.c_proj.bias", {E}, 0.1f);
    add(w, rng, p + "ln_2.weight", {E}, 0.1f, 1.0f);
    add(w, rng, p + "ln_2.bias", {E}, 0.1f);
    add(w, rng, p + "mlp.c_fc.weight", {E, I}, scale);
    add(w, rng, p + "mlp.c_fc.bias", {I}, 0.1f);
    add(w, rng, p + "mlp.c_proj.weight", {I, E}, scale);
    add(w, rng, p + "mlp.c_proj.bias", {E}, 0.1f);
  }
  add(w, rng, "ln_f.weight", {E}, 0.1f, 1.0f);
  add(w, rng, "ln_f.bias", {E}, 0.1f);
  return w;
}

inline Weights random_bert(const ModelConfig& c, unsigned seed, int labels = 3,
                           float scale = 0.3f) {
  std::mt19937 rng(seed);
  Weights w;
  const uint64_t H = c.hidden, I = c.inner, V = c.vocab_size;
  add(w, rng, "embeddings.word_embeddings.weight", {V, H}, scale);
  add(w, rng, "embeddings.position_embeddings.weight", {uint64_t(c.max_positions), H}, scale);
  add(w, rng, "embeddings.token_type_embeddings.weight", {uint64_t(c.type_vocab_size), H}, scale);
  add(w, rng, "embeddings.LayerNorm.weight", {H}, 0.1f, 1.0f);
  add(w, rng, "embeddings.LayerNorm.bias", {H}, 0.1f);
  for (int i = 0; i < c.layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense"}) {
      add(w, rng, p + m + ".weight", {H, H}, scale);
      add(w, rng, p + m + ".bias", {H}, 0.1f);
    }
    add(w, rng, p + "attention.output.LayerNorm.weight", {H}, 0.1f, 1.0f);
    add(w, rng, p + "attention.output.LayerNorm.bias", {H}, 0.1f);
    add(w, rng, p + "intermediate.dense.weight", {I, H}, scale);
    add(w, rng, p + "intermediate.dense.bias", {I}, 0.1f);
    add(w, rng, p + "output.dense.weight", {H, I}, scale);
    add(w, rng, p + "output.dense.bias", {H}, 0.1f);
    add(w, rng, p + "output.LayerNorm.weight", {H}, 0.1f, 1.0f);
    add(w, rng, p + "output.LayerNorm.bias", {H}, 0.1f);
  }
  add(w, rng, "pooler.dense.weight", {H, H}, scale);
  add(w, rng, "pooler.dense.bias", {H}, 0.1f);
  add(w, rng, "cls.predictions.transform.dense.weight", {H, H}, scale);
  add(w, rng, "cls.predictions.transform.dense.bias", {H}, 0.1f);
  add(w, rng, "cls.predictions.transform.LayerNorm.weight", {H}, 0.1f, 1.0f);
  add(w, rng, "cls.predictions.transform.LayerNorm.bias", {H}, 0.1f);
  add(w, rng, "cls.predictions.bias", {V}, 0.1f);
  add(w, rng, "cls.seq_relationship.weight", {2, H}, scale);
  add(w, rng, "cls.seq_relationship.bias", {2}, 0.1f);
  if (labels > 0) {
    add(w, rng, "classifier.weight", {uint64_t(labels), H}, scale);
    add(w, rng, "classifier.bias", {uint64_t(labels)}, 0.1f);
  }
  add(w, rng, "qa_outputs.weight", {2, H}, scale);
  add(w, rng, "qa_outputs.bias", {2}, 0.1f);
  return w;
}

inline FakeTensor transposed(FakeTensor t) {
  const uint64_t r = t.shape[0], c = t.shape[1];
  std::vector<float> out(t.values.size());
  for (uint64_t i = 0; i < r; ++i)
    for (uint64_t j = 0; j < c; ++j) out[j * r + i] = t.values[i * c + j];
  t.values = std::move(out);
  t.shape = {c, r};
  return t;
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

// HF PyTorch as GPT2LMHeadModel / BertForPreTraining save it: head-class prefix on the base model.
inline std::vector<FakeTensor> to_hf_pytorch(const Weights& w, const Family& family) {
  std::vector<FakeTensor> out;
  const std::string prefix = family.name == "gpt2" ? "transformer." : "bert.";
  for (auto [name, t] : w) {
    const bool head = name.starts_with("cls.") || name.starts_with("classifier.") ||
                      name.starts_with("qa_outputs.");
    t.name = head ? name : prefix + name;
    out.push_back(t);
  }
  return out;
}

// OpenAI model.py scopes: model/h{i}/attn/c_attn/w [1, in, out], LayerNorm g/b.
inline std::vector<FakeTensor> to_openai(const Weights& w) {
  std::vector<FakeTensor> out;
  for (auto [name, t] : w) {
    std::string n = name;
    if (n == "wte.weight" || n == "wpe.weight")
      n = n.substr(0, 3);
    else if (n.starts_with("h."))
      n = "h" + n.substr(2);
    n = replace_all(n, ".", "/");
    if (ends_with(n, "ln_1/weight") || ends_with(n, "ln_2/weight") || ends_with(n, "ln_f/weight"))
      n = n.substr(0, n.size() - 6) + "g";
    else if (ends_with(n, "/weight"))
      n = n.substr(0, n.size() - 6) + "w";
    else if (ends_with(n, "/bias"))
      n = n.substr(0, n.size() - 4) + "b";
    t.name = "model/" + n;
    if (t.shape.size() == 2 && ends_with(t.name, "/w")) t.shape.insert(t.shape.begin(), 1);
    out.push_back(t);
  }
  return out;
}

// HF TF2 tf_model.h5 dataset paths of TFGPT2LMHeadModel: TFConv1D biases [1, n].
inline std::vector<FakeTensor> to_gpt2_tf2(const Weights& w) {
  std::vector<FakeTensor> out;
  for (auto [name, t] : w) {
    std::string n = replace_all(name, ".", "/");
    if (n.starts_with("h/")) n = "h_._" + n.substr(2);
    if (n == "wte/weight" || n == "wpe/weight") n = n.substr(0, 4) + "embeddings";
    if (n.find("ln_") != std::string::npos)
      n = replace_all(replace_all(n, "/weight", "/gamma"), "/bias", "/beta");
    if (ends_with(n, "/bias") && n.find("ln_") == std::string::npos)
      t.shape.insert(t.shape.begin(), 1);
    t.name = "transformer/tfgpt2lm_head_model/transformer/" + n + ":0";
    out.push_back(t);
  }
  return out;
}

// HF TF2 names of TFBertForPreTraining (+ classifier, qa_outputs): every Dense kernel is the
// transposed Linear weight; the MLM head's group lists the embedding weights again.
inline std::vector<FakeTensor> to_bert_tf2(const Weights& w) {
  std::vector<FakeTensor> out;
  for (auto [name, t] : w) {
    std::string group = "bert", n;
    if (name.starts_with("cls.predictions.")) {
      group = "mlm___cls";
      n = "mlm___cls/" + replace_all(name.substr(4), ".", "/");
    } else if (name.starts_with("cls.seq_relationship.")) {
      group = "nsp___cls";
      n = "nsp___cls/" + replace_all(name.substr(4), ".", "/");
    } else if (name.starts_with("classifier.") || name.starts_with("qa_outputs.")) {
      group = name.substr(0, name.find('.'));
      n = replace_all(name, ".", "/");
    } else {
      n = "bert/" + replace_all(replace_all(name, ".", "/"), "layer/", "layer_._");
    }
    if (ends_with(n, "word_embeddings/weight")) {
    } else if (ends_with(n, "_embeddings/weight")) {
      n = n.substr(0, n.size() - 6) + "embeddings";
    } else if (n.find("LayerNorm") != std::string::npos) {
      n = replace_all(replace_all(n, "/weight", "/gamma"), "/bias", "/beta");
    } else if (ends_with(n, "/weight")) {
      n = n.substr(0, n.size() - 6) + "kernel";
      t = transposed(t);
    }
    t.name = group + "/tf_bert_for_pre_training/" + n + ":0";
    out.push_back(t);
    if (name == "embeddings.word_embeddings.weight") {
      t.name = "mlm___cls/tf_bert_for_pre_training/" + n + ":0";
      out.push_back(t);
    }
  }
  return out;
}

// Google BERT TF1 names (HF's convert_bert_pytorch_checkpoint_to_original_tf rules, plus the
// run_pretraining / run_classifier / run_squad heads whose output_weights stay [out, in]).
inline std::vector<FakeTensor> to_google(const Weights& w) {
  std::vector<FakeTensor> out;
  for (auto [name, t] : w) {
    std::string n;
    if (name == "cls.predictions.bias")
      n = "cls/predictions/output_bias";
    else if (name == "cls.seq_relationship.weight")
      n = "cls/seq_relationship/output_weights";
    else if (name == "cls.seq_relationship.bias")
      n = "cls/seq_relationship/output_bias";
    else if (name == "classifier.weight")
      n = "output_weights";
    else if (name == "classifier.bias")
      n = "output_bias";
    else if (name == "qa_outputs.weight")
      n = "cls/squad/output_weights";
    else if (name == "qa_outputs.bias")
      n = "cls/squad/output_bias";
    else {
      n = replace_all(name, "layer.", "layer_");
      n = replace_all(n, "_embeddings.weight", "_embeddings");
      n = replace_all(n, ".", "/");
      n = replace_all(replace_all(n, "LayerNorm/weight", "LayerNorm/gamma"), "LayerNorm/bias",
                      "LayerNorm/beta");
      if (ends_with(n, "/weight")) {
        n = n.substr(0, n.size() - 6) + "kernel";
        t = transposed(t);
      }
      if (!n.starts_with("cls/")) n = "bert/" + n;
    }
    t.name = n;
    out.push_back(t);
  }
  return out;
}

inline Model make_model(std::vector<FakeTensor> tensors, const Family& family,
                        Convention convention, const ModelConfig& config) {
  Model m;
  m.path = m.checkpoint = std::string(convention_name(convention));
  m.format = "fake";
  m.family = &family;
  m.convention = convention;
  m.config = config;
  m.weights = std::make_unique<ModelWeights>(std::make_unique<FakeReader>(std::move(tensors)),
                                             family, convention);
  return m;
}

inline FakeTensor* find(std::vector<FakeTensor>& tensors, const std::string& name) {
  for (auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace tensorferry::verify::testing
