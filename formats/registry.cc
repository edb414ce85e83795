#include "formats/registry.h"

#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "core/error.h"
#include "core/input_file.h"
#include "core/mapped_file.h"
#include "formats/gguf/gguf.h"
#include "formats/keras_h5/keras_h5.h"
#include "formats/safetensors/safetensors.h"
#include "formats/sharding.h"
#include "formats/tf_bundle/tf_bundle.h"
#include "formats/torch/torch.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {

struct FormatNames {
  Format format;
  std::string_view name;
  std::string_view default_file;
};
constexpr FormatNames kFormats[] = {
    {Format::kSafetensors, "safetensors", "model.safetensors"},
    {Format::kPyTorch, "pytorch", "pytorch_model.bin"},
    {Format::kTfBundle, "tf-bundle", "model.ckpt"},
    {Format::kKerasH5, "keras-h5", "tf_model.h5"},
    {Format::kGguf, "gguf", "model.gguf"},
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Reads up to `n` bytes at `offset` (negative: from the end) without mapping the whole file.
std::vector<std::byte> peek(const std::string& path, int64_t offset, size_t n, uint64_t* size) {
  const InputFile file = InputFile::open(path);
  const uint64_t file_size = file.size();
  *size = file_size;
  uint64_t start = 0;
  if (offset < 0)
    start = file_size > static_cast<uint64_t>(-offset) ? file_size + offset : 0;
  else
    start = std::min<uint64_t>(file_size, static_cast<uint64_t>(offset));
  const size_t len = static_cast<size_t>(std::min<uint64_t>(n, file_size - start));
  std::vector<std::byte> buf(len);
  const ssize_t got = ::pread(file.fd(), buf.data(), len, static_cast<off_t>(start));
  if (got < 0) throw_io(path, "cannot read", errno);
  buf.resize(static_cast<size_t>(got));
  return buf;
}

std::optional<Format> detect_file(const std::string& path) {
  if (ends_with(path, ".index.json")) {
    ShardIndex index = read_shard_index(path);
    return format_from_extension(index.files.front());
  }
  uint64_t size = 0;
  const auto head = peek(path, 0, 64, &size);
  if (looks_like_hdf5(head)) return Format::kKerasH5;
  if (looks_like_gguf(head)) return Format::kGguf;
  if (looks_like_torch(head, size)) return Format::kPyTorch;
  if (looks_like_safetensors(head, size)) return Format::kSafetensors;
  const auto tail = peek(path, -48, 48, &size);
  if (looks_like_tf_index(tail)) return Format::kTfBundle;
  // safetensors has no magic number: a damaged header fails looks_like_safetensors, and its own
  // reader says what is wrong with it better than "unknown format" would.
  if (format_from_extension(path) == Format::kSafetensors) return Format::kSafetensors;
  return std::nullopt;
}

std::optional<Detected> detect_in_folder(const std::string& dir) {
  // The names transformers looks for, in the order it prefers them.
  static const std::pair<const char*, Format> kHfNames[] = {
      {"model.safetensors.index.json", Format::kSafetensors},
      {"model.safetensors", Format::kSafetensors},
      {"pytorch_model.bin.index.json", Format::kPyTorch},
      {"pytorch_model.bin", Format::kPyTorch},
      {"tf_model.h5.index.json", Format::kKerasH5},
      {"tf_model.h5", Format::kKerasH5},
  };
  for (const auto& [name, format] : kHfNames)
    if (auto p = find_in_folder(dir, name)) return Detected{format, *p};
  if (find_in_folder(dir, "checkpoint")) return Detected{Format::kTfBundle, dir};
  // Otherwise exactly one recognisable checkpoint file.
  std::vector<Detected> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") || entry.is_directory(ec)) continue;
    const bool bundle_index = ends_with(name, ".index");
    const auto format = format_from_extension(name);
    if (!bundle_index && (!format || *format == Format::kTfBundle)) continue;
    // A checkpoint by its name: a special file or a link leaving the folder is refused, not
    // skipped.
    const std::string p = *find_in_folder(dir, name);
    if (bundle_index) {
      found.push_back({Format::kTfBundle, p.substr(0, p.size() - 6)});
    } else {
      found.push_back({*format, p});
    }
  }
  if (found.size() == 1) return found.front();
  if (found.size() > 1)
    throw Error(ErrorKind::kUsage,
                "folder holds several checkpoints (" + found[0].checkpoint_path + ", " +
                    found[1].checkpoint_path + ", ...); name the one to use",
                dir);
  return std::nullopt;
}

}  // namespace

std::string_view format_name(Format format) {
  for (const auto& f : kFormats)
    if (f.format == format) return f.name;
  return "unknown";
}

std::optional<Format> format_from_name(std::string_view name) {
  for (const auto& f : kFormats)
    if (f.name == name) return f.format;
  if (name == "torch" || name == "pt" || name == "bin") return Format::kPyTorch;
  if (name == "h5" || name == "keras") return Format::kKerasH5;
  if (name == "tf" || name == "ckpt" || name == "bundle") return Format::kTfBundle;
  return std::nullopt;
}

std::optional<Format> format_from_extension(const std::string& path) {
  std::string p = path;
  if (ends_with(p, ".index.json")) p = p.substr(0, p.size() - 11);
  if (ends_with(p, ".safetensors")) return Format::kSafetensors;
  if (ends_with(p, ".bin") || ends_with(p, ".pt") || ends_with(p, ".pth")) return Format::kPyTorch;
  if (ends_with(p, ".h5") || ends_with(p, ".hdf5") || ends_with(p, ".keras.weights.h5"))
    return Format::kKerasH5;
  if (ends_with(p, ".ckpt") || ends_with(p, ".index")) return Format::kTfBundle;
  if (ends_with(p, ".gguf")) return Format::kGguf;
  return std::nullopt;
}

std::string default_file_name(Format format) {
  for (const auto& f : kFormats)
    if (f.format == format) return std::string(f.default_file);
  return "model";
}

Detected detect_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (auto d = detect_in_folder(path)) return *d;
    throw_bad_input(path, std::nullopt, "no checkpoint found in this folder");
  }
  // Anything that exists and is not a folder is read as a file: a FIFO or device is refused
  // there as "not a regular file" (core/input_file.h).
  if (fs::exists(path, ec)) {
    if (auto f = detect_file(path)) {
      std::string p = path;
      if (*f == Format::kTfBundle && ends_with(p, ".index")) p = p.substr(0, p.size() - 6);
      return {*f, p};
    }
    throw_bad_input(path, 0, "not a checkpoint format tensorferry knows (magic bytes unknown)");
  }
  if (fs::is_regular_file(path + ".index", ec)) return {Format::kTfBundle, path};
  throw Error(ErrorKind::kIo, "no such file or folder", path);
}

std::unique_ptr<CheckpointReader> open_checkpoint(const std::string& path,
                                                  std::optional<Format> format) {
  Detected d = format ? Detected{*format, path} : detect_checkpoint(path);
  if (format && fs::is_directory(path)) {
    Detected found = detect_checkpoint(path);
    if (found.format == *format) d = found;
  }
  switch (d.format) {
    case Format::kSafetensors: return open_safetensors(d.checkpoint_path);
    case Format::kPyTorch: return open_torch(d.checkpoint_path);
    case Format::kTfBundle: return open_tf_bundle(d.checkpoint_path);
    case Format::kKerasH5: return open_keras_h5(d.checkpoint_path);
    case Format::kGguf: return open_gguf(d.checkpoint_path);
  }
  throw_usage("unknown format");
}

std::unique_ptr<CheckpointWriter> create_checkpoint_writer(Format format, const std::string& path,
                                                           const WriterOptions& options) {
  switch (format) {
    case Format::kSafetensors: return create_safetensors_writer(path, options);
    case Format::kPyTorch: return create_torch_writer(path, options);
    case Format::kKerasH5: return create_keras_h5_writer(path, options);
    case Format::kGguf: return create_gguf_writer(path, options);
    case Format::kTfBundle: {
      std::string prefix = ends_with(path, ".index") ? path.substr(0, path.size() - 6) : path;
      TfBundleOptions bundle;
      return create_tf_bundle_writer(prefix, options, bundle);
    }
  }
  throw_usage("unknown format");
}

}  // namespace tensorferry
