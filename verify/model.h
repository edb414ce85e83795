// A checkpoint opened as a model: its container, family, convention, config and weights.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "verify/convention.h"
#include "verify/family.h"
#include "verify/model_config.h"
#include "verify/weights.h"

namespace tensorferry::verify {

struct Model {
  std::string path;        // as the user gave it
  std::string checkpoint;  // the file or bundle prefix read
  std::string format;      // container: safetensors, pytorch, tf-bundle, keras-h5
  const Family* family = nullptr;
  Convention convention = Convention::kHfPytorch;
  bool convention_forced = false;  // given by the caller instead of detected
  ModelConfig config;
  std::unique_ptr<ModelWeights> weights;
};

// Detects the family and convention from tensor names: each family's and convention's
// token-embedding name (HF PyTorch "wte.weight" / "embeddings.word_embeddings.weight" with or
// without the head-class prefix, HF TF2 ".../transformer/wte/embeddings:0" / ".../bert/embeddings/
// word_embeddings/weight:0", OpenAI "model/wte", Google "bert/embeddings/word_embeddings"). With
// `forced`, only that convention is tried; with `only`, the family of that name when it fits.
// When several families' names fit (a bare RobertaModel has BertModel's), the one whose framework
// reads the config file next to `path` is taken. Throws Error(kBadInput) when nothing or more
// than one thing matches.
std::pair<const Family*, Convention> detect_convention(const std::vector<TensorEntry>& tensors,
                                                       const std::string& path,
                                                       std::optional<Convention> forced,
                                                       std::string_view only = {});

// Opens the checkpoint at `path` (file, bundle prefix, shard index or folder) and the config of
// its family and convention next to it (config.json, hparams.json, bert_config.json, ...).
// `family`, when not empty, names the family the checkpoint is read as among those its tensor
// names fit.
Model open_model(const std::string& path, std::optional<Convention> forced = std::nullopt,
                 std::string_view family = {});

}  // namespace tensorferry::verify
