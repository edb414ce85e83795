// GGUF, llama.cpp's model file: typed metadata, then tensor records, then aligned tensor data.
// Layout: formats/gguf/gguf_header.h and docs/formats/gguf.md.
#pragma once

#include <memory>
#include <string>

#include "core/checkpoint.h"
#include "formats/gguf/gguf_header.h"

namespace tensorferry {

std::unique_ptr<CheckpointReader> open_gguf(const std::string& path);
// A container-level writer: tensors keep their names, dtypes map to ggml's dense types (f32, f16,
// bf16, f64, i8-i64), shapes are stored reversed as ggml expects.
std::unique_ptr<CheckpointWriter> create_gguf_writer(const std::string& path,
                                                     const WriterOptions& options);

}  // namespace tensorferry
