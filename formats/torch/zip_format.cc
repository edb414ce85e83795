#include "formats/torch/zip_format.h"

#include <charconv>

#include "core/bytes.h"
#include "core/error.h"
#include "formats/torch/tensor_names.h"
#include "formats/torch/torch_reader.h"
#include "formats/torch/torch_unpickler.h"
#include "formats/torch/zip_directory.h"

namespace tensorferry {
namespace {

// A data.pkl bigger than this is refused before it is parsed: the unpickler's memory grows with
// the pickle, and a state dict's pickle holds ~200 bytes per tensor.
constexpr uint64_t kMaxPickleBytes = 256u << 20;
// torch's kMinSupportedFileFormatVersion / kMaxSupportedFileFormatVersion (caffe2/serialize/
// versions.h in torch 2.13).
constexpr uint64_t kMinVersion = 1;
constexpr uint64_t kMaxVersion = 10;

std::string_view small_record(const MappedFile& file, const ZipEntry& e, uint64_t max_size) {
  if (e.size > max_size)
    throw_bad_input(file.path(), e.header_offset,
                    "record \"" + e.name + "\" is " + std::to_string(e.size) +
                        " bytes, expected at most " + std::to_string(max_size));
  verify_zip_crc(file, e);
  return as_chars(file.slice(e.data_offset, e.size, e.name));
}

uint64_t read_version(const MappedFile& file, const ZipDirectory& dir, const std::string& prefix) {
  const ZipEntry* e = dir.find(prefix + ".data/version");
  if (!e) e = dir.find(prefix + "version");
  if (!e)
    throw_bad_input(file.path(), std::nullopt,
                    "torch zip has no \"" + prefix + "version\" record (not a torch.save file)");
  std::string_view text = small_record(file, *e, 32);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  uint64_t version = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    throw_bad_input(file.path(), e->data_offset, "record \"" + e->name + "\" is not a number");
  if (version < kMinVersion || version > kMaxVersion)
    throw_bad_input(file.path(), e->data_offset,
                    "file format version " + std::to_string(version) + " is outside the " +
                        std::to_string(kMinVersion) + ".." + std::to_string(kMaxVersion) +
                        " torch 2.13 reads");
  return version;
}

}  // namespace

bool looks_like_torch_zip(std::span<const std::byte> first_bytes) {
  if (first_bytes.size() < 30 || load_le<uint32_t>(first_bytes.data()) != 0x04034b50) return false;
  const uint16_t name_len = load_le<uint16_t>(first_bytes.data() + 26);
  const std::string_view name =
      as_chars(first_bytes.subspan(30, std::min<size_t>(name_len, first_bytes.size() - 30)));
  const size_t slash = name.find('/');
  if (slash != std::string_view::npos) return slash > 0;
  return name.size() < name_len;  // the name goes on beyond what we were shown
}

std::unique_ptr<CheckpointReader> open_torch_zip(const std::shared_ptr<const MappedFile>& file,
                                                 const PickleLimits& limits) {
  const std::string& path = file->path();
  const ZipDirectory dir = ZipDirectory::read(*file);
  if (dir.entries().empty()) throw_bad_input(path, std::nullopt, "zip archive is empty");

  // Every record lives under the folder of the first entry.
  const ZipEntry& first = dir.entries().front();
  const size_t slash = first.name.find('/');
  if (slash == std::string::npos || slash == 0)
    throw_bad_input(
        path, first.header_offset,
        "zip entry \"" + first.name + "\" is not inside a folder (not a torch.save file)");
  const std::string archive = first.name.substr(0, slash);
  const std::string prefix = archive + "/";
  for (const auto& e : dir.entries())
    if (!e.name.starts_with(prefix))
      throw_bad_input(
          path, e.header_offset,
          "zip entry \"" + e.name + "\" lies outside the archive folder \"" + archive + "\"");
  if (dir.find(prefix + "constants.pkl"))
    throw_bad_input(path, std::nullopt,
                    "this is a TorchScript archive (torch.jit.save), not a torch.save file; save "
                    "the module's state_dict() with torch.save instead");

  std::map<std::string, std::string> metadata;
  metadata["pytorch.layout"] = "zip";
  metadata["pytorch.archive"] = archive;
  metadata["pytorch.version"] = std::to_string(read_version(*file, dir, prefix));
  bool big_endian = false;
  if (const ZipEntry* e = dir.find(prefix + "byteorder")) {
    const std::string_view order = small_record(*file, *e, 16);
    if (order == "big")
      big_endian = true;
    else if (order != "little")
      throw_bad_input(path, e->data_offset,
                      "byteorder record is \"" + std::string(order.substr(0, 16)) +
                          "\", expected \"little\" or \"big\"");
    metadata["pytorch.byteorder"] = std::string(order);
  }

  const ZipEntry* pickle = dir.find(prefix + "data.pkl");
  if (!pickle)
    throw_bad_input(path, std::nullopt, "torch zip has no \"" + prefix + "data.pkl\" record");
  if (pickle->size > kMaxPickleBytes)
    throw_bad_input(path, pickle->header_offset,
                    "data.pkl is " + std::to_string(pickle->size) + " bytes; more than " +
                        std::to_string(kMaxPickleBytes) + " is refused");
  verify_zip_crc(*file, *pickle);
  const auto pickle_bytes = file->slice(pickle->data_offset, pickle->size, "data.pkl");

  ValueStore store(limits);
  TorchUnpickler env(TorchUnpickler::Flavor::kZip, file->size());
  const PickleResult result =
      run_pickle(pickle_bytes, store, env, limits, path, pickle->data_offset);
  if (result.length != pickle->size)
    throw_bad_input(
        path, pickle->data_offset + result.length,
        std::to_string(pickle->size - result.length) + " bytes follow the STOP opcode of data.pkl");

  TorchFileLayout layout;
  layout.file = file;
  layout.big_endian = big_endian;
  layout.pickle_offset = pickle->data_offset;
  layout.metadata = std::move(metadata);
  for (size_t i = 0; i < env.storages().size(); ++i) {
    const StorageDecl& s = env.storages()[i];
    const ZipEntry* e = dir.find(prefix + "data/" + s.key);
    if (!e)  // at the persistent id that names the storage, naming a tensor that views it
      throw_bad_input(path, pickle->data_offset + s.declared_at,
                      "storage '" + s.key + "' has no record \"" + prefix + "data/" + s.key + "\"",
                      first_tensor_of_storage(store, env, result.root, i));
    try {
      require_stored(*file, *e);
    } catch (const Error& err) {
      throw err.with_context(path, first_tensor_of_storage(store, env, result.root, i));
    }
    layout.storages.push_back({e->data_offset, e->size, e->crc32});
  }
  return make_torch_reader(std::move(layout), store, env, result.root);
}

}  // namespace tensorferry
