// The gguf convention of a model family, as llama.cpp's convert_hf_to_gguf.py defines it: the
// GGUF tensor name of every canonical (HF PyTorch) parameter, the layout step between them, and
// the `<arch>.*` hyperparameter keys computed from the config. Tensors are named in row-major
// order here; the GGUF file stores the dimensions reversed (ggml's ne[0] is the last one).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "formats/gguf/gguf_value.h"
#include "models/family.h"

namespace tensorferry {

enum class GgufStep : uint8_t {
  kSame,        // same bytes, same row-major shape
  kTranspose,   // HF Conv1D [in, out] -> ggml's [out, in] (GPT-2)
  kPermuteRope  // HF llama q/k rows -> llama.cpp's rotary pairing (LlamaModel.permute)
};

struct GgufTensorRule {
  constexpr GgufTensorRule(std::string_view canonical_name, std::string_view gguf_name,
                           GgufStep layout = GgufStep::kSame, std::string_view heads_key = {},
                           bool f32 = false)
      : canonical(canonical_name),
        gguf(gguf_name),
        step(layout),
        heads(heads_key),
        always_f32(f32) {}
  std::string_view canonical;  // canonical name template, "{i}" for the layer
  std::string_view gguf;       // GGUF name template
  GgufStep step = GgufStep::kSame;
  // kPermuteRope: the config.json key holding the number of heads the rows are grouped in
  // (num_attention_heads for q, num_key_value_heads for k); the head width is rows / heads.
  std::string_view heads;
  // llama.cpp keeps these in f32 whatever the output type (its converter's F32 list).
  bool always_f32 = false;
};

// A tensor the converter computes from the config rather than reads from the checkpoint.
struct GgufGeneratedTensor {
  std::string name;
  std::vector<float> values;  // 1-D, stored as f32
};

// What hf_config learns from a GGUF file's tensors besides its metadata.
struct GgufFileTensors {
  bool untied_head = false;       // the file has output.weight
  std::vector<float> rope_freqs;  // rope_freqs.weight's values, when the file has it
};

class GgufArchitecture {
 public:
  virtual ~GgufArchitecture() = default;
  virtual std::string_view family() const = 0;  // tensorferry family: "gpt2", "llama"
  // general.architecture for this config ("gpt2", "llama", "qwen2").
  virtual std::string arch(const ModelConfig& config) const = 0;
  virtual const std::vector<GgufTensorRule>& rules(const ModelConfig& config) const = 0;
  // The `<arch>.*` keys, in the order llama.cpp's converter writes them (general.file_type is
  // added by the caller at the position the converter puts it: after these).
  virtual void add_hparams(const ModelConfig& config, GgufMetadata& out) const = 0;
  // Tensors written before the checkpoint's (generate_extra_tensors), e.g. rope_freqs.weight.
  virtual std::vector<GgufGeneratedTensor> generated_tensors(const ModelConfig&) const {
    return {};
  }
  // tokenizer.ggml.model and .pre.
  virtual std::string tokenizer_model(const ModelConfig& config) const = 0;
  virtual std::string tokenizer_pre(const ModelConfig& config) const = 0;
  // Whether tokenizer_config.json's add_prefix_space becomes tokenizer.ggml.add_space_prefix
  // (LlamaModel.set_vocab does that; GPT2Model and Qwen2Model do not).
  virtual bool writes_add_space_prefix(const ModelConfig& config) const { return false; }

  // Reading GGUF back: whether this family writes general.architecture `arch`, and the HF
  // config.json object its metadata (and tensors) describe.
  virtual bool reads_arch(std::string_view arch) const = 0;
  virtual nlohmann::json hf_config(const GgufMetadata& metadata,
                                   const GgufFileTensors& tensors) const = 0;
};

// The architecture that writes general.architecture `arch`; nullptr when none does.
const GgufArchitecture* gguf_architecture_reading(std::string_view arch);

// Metadata lookups for hf_config: kBadInput naming the key when it is missing or not a number.
uint64_t gguf_uint(const GgufMetadata& metadata, const std::string& key);
// f32 values as the shortest decimal that reads back as the same f32 (1e-05, not 9.99999974e-06).
nlohmann::json gguf_float(const GgufMetadata& metadata, const std::string& key);
nlohmann::json shortest_float(float value);
bool gguf_has(const GgufMetadata& metadata, const std::string& key);

const GgufArchitecture* gguf_architecture(std::string_view family);

}  // namespace tensorferry
