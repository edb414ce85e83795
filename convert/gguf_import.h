// `tensorferry convert model.gguf DST --to hf-pytorch`: a GGUF file written by llama.cpp's
// converter (or tensorferry) back into a Hugging Face folder: every tensor under its HF name with
// the inverse layout step (Conv1D transpose, rotary row permutation), config.json rebuilt from
// the `<arch>.*` metadata, and tokenizer.json / tokenizer_config.json rebuilt from
// tokenizer.ggml.* (byte-level BPE vocabularies). Quantized tensors are dequantized.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace tensorferry {

struct GgufImportOptions {
  std::optional<DType> dtype;  // default: general.file_type's (f32, f16, bf16; f32 for others)
  bool force = false;
};

struct GgufImportResult {
  std::string arch, family, hf_class;
  DType dtype = DType::kF32;
  size_t tensors = 0;
  uint64_t bytes = 0;
  std::vector<std::string> files;    // written besides model.safetensors
  std::vector<std::string> skipped;  // "name: reason"
};

bool is_gguf_file(const std::string& path);

GgufImportResult import_gguf(const std::string& input, const std::string& output,
                             const GgufImportOptions& options);

std::string gguf_import_text(const std::string& input, const std::string& output,
                             const GgufImportResult& result);

}  // namespace tensorferry
