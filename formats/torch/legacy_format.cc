#include "formats/torch/legacy_format.h"

#include <cstring>
#include <set>

#include "core/bytes.h"
#include "core/error.h"
#include "formats/torch/torch_reader.h"
#include "formats/torch/torch_unpickler.h"

namespace tensorferry {
namespace {

// MAGIC_NUMBER as LONG1 stores it: little-endian two's complement, 10 bytes.
constexpr unsigned char kMagic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kProtocolVersion = 1001;

std::string magic_text() { return std::string(reinterpret_cast<const char*>(kMagic), 10); }

const ValueId* dict_get(const ValueStore& store, ValueId dict, std::string_view key) {
  const auto& items = store.items(dict);
  for (size_t i = 0; i + 1 < items.size(); i += 2)
    if (store.is_text(items[i], key)) return &items[i + 1];
  return nullptr;
}

}  // namespace

bool looks_like_torch_legacy(std::span<const std::byte> b) {
  auto at = [&](size_t i) { return i < b.size() ? static_cast<uint8_t>(b[i]) : 0xff00; };
  if (at(0) != 0x80 || at(1) < 2 || at(1) > 5) return false;
  size_t pos = 2;
  if (at(pos) == 0x95) pos += 9;  // FRAME (protocol 4+)
  if (at(pos) != 0x8a || at(pos + 1) != 10) return false;
  return b.size() >= pos + 12 && std::memcmp(b.data() + pos + 2, kMagic, 10) == 0;
}

std::unique_ptr<CheckpointReader> open_torch_legacy(const std::shared_ptr<const MappedFile>& file,
                                                    const PickleLimits& limits) {
  const std::string& path = file->path();
  const auto bytes = file->bytes();
  ValueStore store(limits);
  PlainDataEnvironment plain;
  uint64_t pos = 0;
  auto next_pickle = [&](PickleEnvironment& env) {
    const PickleResult r = run_pickle(bytes.subspan(pos), store, env, limits, path, pos);
    const uint64_t start = pos;
    pos += r.length;
    return std::make_pair(r.root, start);
  };

  const auto [magic, magic_at] = next_pickle(plain);
  if (store.kind(magic) != ValueKind::kBigInt || store.text(magic) != magic_text())
    throw_bad_input(path, magic_at, "not a torch.save file: the magic number is wrong");
  const auto [protocol, protocol_at] = next_pickle(plain);
  if (store.kind(protocol) != ValueKind::kInt || store.as_int(protocol) != kProtocolVersion)
    throw_bad_input(path, protocol_at, "legacy torch protocol version is not 1001");
  const auto [sys_info, sys_info_at] = next_pickle(plain);
  if (store.kind(sys_info) != ValueKind::kDict)
    throw_bad_input(path, sys_info_at, "legacy torch sys_info is not a dict");
  const ValueId* little = dict_get(store, sys_info, "little_endian");
  if (little && store.kind(*little) == ValueKind::kBool && !store.as_bool(*little))
    throw_bad_input(path, sys_info_at,
                    "written on a big-endian machine; the legacy format of such files is not "
                    "supported (re-save it with a current torch)");

  TorchUnpickler env(TorchUnpickler::Flavor::kLegacy, file->size());
  const auto [root, root_at] = next_pickle(env);
  const auto [keys, keys_at] = next_pickle(plain);
  if (store.kind(keys) != ValueKind::kList)
    throw_bad_input(path, keys_at, "legacy storage key list is not a list");

  TorchFileLayout layout;
  layout.file = file;
  layout.metadata["pytorch.layout"] = "legacy";
  layout.pickle_offset = root_at;
  layout.storages.resize(env.storages().size());
  std::vector<bool> seen(env.storages().size(), false);
  for (ValueId key : store.items(keys)) {
    if (store.kind(key) != ValueKind::kString)
      throw_bad_input(path, keys_at, "legacy storage key list holds a non-string");
    const std::string& name = store.text(key);
    const auto index = env.storage_index(name);
    if (!index)
      throw_bad_input(path, keys_at,
                      "storage key list names '" + name + "', which no tensor declares");
    if (seen[*index]) throw_bad_input(path, keys_at, "storage key list names '" + name + "' twice");
    seen[*index] = true;
    const StorageDecl& s = env.storages()[*index];
    const auto header = file->slice(pos, 8, "size of storage '" + name + "'");
    const auto count = load_le<int64_t>(header.data());
    if (count < 0 || static_cast<uint64_t>(count) != s.numel)
      throw_bad_input(path, pos,
                      "storage '" + name + "' holds " + std::to_string(count) +
                          " elements but its persistent id declares " + std::to_string(s.numel));
    file->slice(pos + 8, s.nbytes, "storage '" + name + "'");
    layout.storages[*index] = {pos + 8, s.nbytes, std::nullopt};
    pos += 8 + s.nbytes;
  }
  for (size_t i = 0; i < seen.size(); ++i)
    if (!seen[i])
      throw_bad_input(path, keys_at,
                      "storage '" + env.storages()[i].key +
                          "' is used but its bytes are not in "
                          "the file");
  if (pos != file->size())
    throw_bad_input(
        path, pos, std::to_string(file->size() - pos) + " unexpected bytes after the last storage");
  return make_torch_reader(std::move(layout), store, env, root);
}

}  // namespace tensorferry
