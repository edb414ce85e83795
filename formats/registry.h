// Finding the right container format for a path, by magic bytes rather than by name.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/checkpoint.h"

namespace tensorferry {

enum class Format { kSafetensors, kPyTorch, kTfBundle, kKerasH5, kGguf };

std::string_view format_name(
    Format format);  // "safetensors", "pytorch", "tf-bundle", "keras-h5", "gguf"
std::optional<Format> format_from_name(std::string_view name);
// From the output name: .safetensors, .bin/.pt/.pth, .h5, .ckpt / .index, .gguf.
std::optional<Format> format_from_extension(const std::string& path);
// The file name HF (or TF) gives a single-file checkpoint of this format in a model folder.
std::string default_file_name(Format format);

// What a path holds, decided from its first bytes (files) or its contents (folders, bundle
// prefixes, index files). For a folder, `checkpoint_path` is the checkpoint found inside it.
struct Detected {
  Format format;
  std::string checkpoint_path;  // the file, the bundle prefix, or the shard index to open
};
// Throws Error(kBadInput) naming the path when nothing recognisable is there.
Detected detect_checkpoint(const std::string& path);

// Opens what detect_checkpoint finds (or `format`, when given).
std::unique_ptr<CheckpointReader> open_checkpoint(const std::string& path,
                                                  std::optional<Format> format = std::nullopt);

// A writer for `path` (a file name; sharded formats add their siblings next to it).
std::unique_ptr<CheckpointWriter> create_checkpoint_writer(Format format, const std::string& path,
                                                           const WriterOptions& options);

}  // namespace tensorferry
