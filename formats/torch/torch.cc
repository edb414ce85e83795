// Entry points of the PyTorch format: detection, and dispatch to the zip layout, the legacy
// stream or a sharded index.
#include "formats/torch/torch.h"

#include <cstdlib>

#include "core/bytes.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/sharding.h"
#include "formats/torch/legacy_format.h"
#include "formats/torch/torch_writer.h"
#include "formats/torch/zip_directory.h"
#include "formats/torch/zip_format.h"

namespace tensorferry {
namespace {

std::unique_ptr<CheckpointReader> open_single(const std::string& path) {
  auto file = MappedFile::open(path);
  const auto head = file->bytes().subspan(0, std::min<uint64_t>(file->size(), 64));
  if (head.size() >= 4 && as_chars(head.subspan(0, 4)) == std::string_view("PK\x03\x04", 4))
    return open_torch_zip(file);
  if (looks_like_torch_legacy(head)) return open_torch_legacy(file);
  if (file->size() >= 262 && as_chars(file->bytes().subspan(257, 5)) == "ustar")
    throw_bad_input(path, 257,
                    "this is torch.save's tar format (torch < 0.4), which tensorferry does not "
                    "read; load and re-save it with a current torch");
  throw_bad_input(path, 0, "not a torch.save file (neither a zip archive nor the legacy format)");
}

}  // namespace

bool looks_like_torch(std::span<const std::byte> first_bytes, uint64_t /*file_size*/) {
  return looks_like_torch_zip(first_bytes) || looks_like_torch_legacy(first_bytes);
}

std::unique_ptr<CheckpointReader> open_torch(const std::string& path) {
  if (path.ends_with(".index.json")) return open_sharded(path, open_single);
  return open_single(path);
}

uint64_t verify_torch_zip_checksums(const std::string& path) {
  auto file = MappedFile::open(path);
  const auto head = file->bytes().subspan(0, std::min<uint64_t>(file->size(), 4));
  if (head.size() < 4 || as_chars(head) != std::string_view("PK\x03\x04", 4)) return 0;
  const ZipDirectory dir = ZipDirectory::read(*file);
  for (const ZipEntry& entry : dir.entries()) verify_zip_crc(*file, entry);
  return dir.entries().size();
}

std::unique_ptr<CheckpointWriter> create_torch_writer(const std::string& path,
                                                      const WriterOptions& options) {
  // Testing knob: ZIP64 records are otherwise only written for files beyond 4 GiB, too big for
  // the interop tests to make; with this set, small files exercise the same fields.
  const char* knob = std::getenv("TENSORFERRY_TORCH_FORCE_ZIP64");
  const bool force_zip64 = knob && std::string_view(knob) == "1";
  return create_sharded_writer(
      path, options, [force_zip64](const std::string& p, const WriterOptions& o) {
        return create_torch_file_writer(p, TorchWriterOptions{o.force, force_zip64});
      });
}

}  // namespace tensorferry
