// What tensorferry accepts from an input it did not write, in one place. Each bound is far
// above what real models need (the largest published checkpoints have ~150 k tensors, 2 KiB
// configs, 40 MiB tokenizer files) and low enough that metadata read from a hostile file costs
// a bounded amount of memory before anything is refused; going over one is Error(kBadInput),
// exit 3. docs/hardening.md lists them with the reasons.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace tensorferry {

// config.json, hparams.json, bert_config.json.
inline constexpr uint64_t kMaxConfigFileBytes = 16 << 20;
// model.safetensors.index.json and its kin (a 150 k-tensor index is ~12 MiB).
inline constexpr uint64_t kMaxShardIndexBytes = 64 << 20;
// TF's `checkpoint` state file (a few hundred bytes in practice).
inline constexpr uint64_t kMaxStateFileBytes = 16 << 20;
// Files carried along with a model (vocabularies, tokenizer files): held whole while checked.
inline constexpr uint64_t kMaxCarriedFileBytes = 128 << 20;
// Tensors in one checkpoint, counting every name (aliases of one storage included).
inline constexpr uint64_t kMaxTensorCount = 1 << 20;
// Bytes of one tensor name (real ones are under 200).
inline constexpr uint64_t kMaxTensorNameBytes = 4096;

// Refuses (Error kBadInput at `offset` of `file`) a checkpoint that lists, or declares, more
// than kMaxTensorCount tensors; readers call it as the count grows, and before building anything
// where the format says the count up front.
void check_tensor_count(uint64_t count, const std::string& file,
                        std::optional<uint64_t> offset = std::nullopt);

// What every reader checks of every tensor it lists: the name at most kMaxTensorNameBytes, every
// dimension at most 2^63-1 (every format and framework holds dimensions as int64; a larger one,
// even in a shape with a zero and so no bytes, made TensorFlow abort on the converted bundle).
void check_tensor_metadata(std::string_view name, const Shape& shape, const std::string& file,
                           std::optional<uint64_t> offset);

}  // namespace tensorferry
