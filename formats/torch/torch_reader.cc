#include "formats/torch/torch_reader.h"

#include <algorithm>
#include <unordered_map>

#include "core/crc.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/mapped_file.h"
#include "formats/torch/strided_copy.h"
#include "formats/torch/tensor_names.h"

namespace tensorferry {
namespace {

class TorchReader final : public CheckpointReader {
 public:
  TorchReader(TorchFileLayout layout, std::vector<TensorEntry> entries,
              std::vector<TensorView> views)
      : layout_(std::move(layout)),
        entries_(std::move(entries)),
        views_(std::move(views)),
        crc_checked_(layout_.storages.size(), false) {}

  std::string format() const override { return "pytorch"; }
  std::string path() const override { return layout_.file->path(); }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::map<std::string, std::string> metadata() const override { return layout_.metadata; }

  std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) override {
    const TensorView& v = views_.at(index);
    const StorageBytes& s = layout_.storages[v.storage];
    if (s.crc32 && !crc_checked_[v.storage]) {
      // In pieces released as they are summed: the writer reads the tensor again afterwards,
      // and a storage of a few hundred MB must not stay resident in between.
      const auto stored = layout_.file->slice(s.offset, s.size, "storage");
      uint32_t crc = 0;
      for (size_t done = 0; done < stored.size(); done += kStreamPiece) {
        const auto piece = stored.subspan(done, std::min(kStreamPiece, stored.size() - done));
        crc = crc32_extend(crc, piece);
        release_consumed(piece);
      }
      check_crc(index, crc);
    }
    if (v.nbytes == 0) return {};
    const std::byte* base = layout_.file->bytes().data() + s.offset + v.byte_offset;
    const bool as_stored = !layout_.big_endian && !v.conj && !v.neg;
    if (as_stored && is_row_major_dense(v.shape, v.strides)) return {base, v.nbytes};

    scratch.resize(v.nbytes);
    gather_strided(base, dtype_size(v.dtype), v.shape, v.strides, scratch.data());
    std::span<std::byte> out(scratch.data(), v.nbytes);
    const size_t unit = scalar_unit(v.dtype);
    if (layout_.big_endian) swap_byte_order(out, unit);
    if (v.neg) flip_sign_bits(out, unit, /*imaginary_only=*/false);
    if (v.conj) flip_sign_bits(out, unit, /*imaginary_only=*/true);
    return out;
  }

  // Straight from the file when the tensor is its storage's bytes as stored; a storage whose
  // CRC is still unchecked is summed on the way when the tensor covers all of it.
  bool stream(size_t index, const PieceConsumer& consume,
              std::vector<std::byte>& scratch) override {
    const TensorView& v = views_.at(index);
    const StorageBytes& s = layout_.storages[v.storage];
    const bool as_stored = !layout_.big_endian && !v.conj && !v.neg && v.nbytes > 0 &&
                           is_row_major_dense(v.shape, v.strides);
    const bool unchecked = s.crc32 && !crc_checked_[v.storage];
    const bool whole_storage = v.byte_offset == 0 && v.nbytes == s.size;
    if (!as_stored || (unchecked && !whole_storage))
      return CheckpointReader::stream(index, consume, scratch);
    uint32_t crc = 0;
    const bool whole =
        layout_.file->stream(s.offset + v.byte_offset, v.nbytes, "storage", entries_[index].name,
                             consume, [&](std::span<const std::byte> piece) {
                               if (unchecked) crc = crc32_extend(crc, piece);
                             });
    if (whole && unchecked) check_crc(index, crc);
    return whole;
  }

  void release(size_t index) override {
    const TensorView& v = views_.at(index);
    if (v.nbytes == 0) return;
    uint64_t last = 0;  // cannot overflow: checked when the tensor was rebuilt
    for (size_t d = 0; d < v.shape.size(); ++d) last += (v.shape[d] - 1) * v.strides[d];
    layout_.file->release(layout_.storages[v.storage].offset + v.byte_offset,
                          (last + 1) * dtype_size(v.dtype));
  }

 private:
  void check_crc(size_t index, uint32_t crc) {
    const TensorView& v = views_.at(index);
    const StorageBytes& s = layout_.storages[v.storage];
    if (crc != *s.crc32)
      throw_bad_input(path(), s.offset,
                      "storage bytes are corrupt (CRC-32 differs from the zip directory's)",
                      entries_[index].name);
    crc_checked_[v.storage] = true;
  }

  TorchFileLayout layout_;
  std::vector<TensorEntry> entries_;
  std::vector<TensorView> views_;
  std::vector<bool> crc_checked_;
};

}  // namespace

std::unique_ptr<CheckpointReader> make_torch_reader(TorchFileLayout layout, const ValueStore& store,
                                                    const TorchUnpickler& env, ValueId root) {
  const std::string& path = layout.file->path();
  if (layout.storages.size() != env.storages().size())
    throw_bad_input(path, std::nullopt, "internal: storage table size mismatch");
  for (size_t s = 0; s < env.storages().size(); ++s)
    if (layout.storages[s].size != env.storages()[s].nbytes)
      throw_bad_input(path, layout.storages[s].offset,
                      "storage '" + env.storages()[s].key + "' holds " +
                          std::to_string(layout.storages[s].size) +
                          " bytes but its persistent id declares " +
                          std::to_string(env.storages()[s].nbytes),
                      first_tensor_of_storage(store, env, root, s));

  std::vector<NamedTensor> named;
  try {
    named = name_tensors(store, env, root);
  } catch (const Error& e) {
    throw e.with_context(path, {}, layout.pickle_offset);
  }
  std::vector<TensorEntry> entries;
  std::vector<TensorView> views;
  std::unordered_map<size_t, size_t> first_user;  // storage -> first entry using it
  for (auto& n : named) {
    const TensorView& v = env.tensors()[n.tensor];
    TensorEntry e;
    e.name = std::move(n.name);
    e.dtype = v.dtype;
    e.shape = v.shape;
    e.nbytes = v.nbytes;
    check_tensor_metadata(e.name, e.shape, path, layout.pickle_offset);
    e.file = path;
    e.offset = layout.storages[v.storage].offset + v.byte_offset;
    auto [it, first] = first_user.emplace(v.storage, entries.size());
    if (!first) {
      const size_t origin = it->second;
      const TensorView& o = views[origin];
      e.note = "shares storage with " + entries[origin].name;
      e.shares_storage_with = origin;
      e.same_view = o.byte_offset == v.byte_offset && o.dtype == v.dtype && o.shape == v.shape &&
                    o.strides == v.strides && o.conj == v.conj && o.neg == v.neg;
    }
    entries.push_back(std::move(e));
    views.push_back(v);
  }
  return std::make_unique<TorchReader>(std::move(layout), std::move(entries), std::move(views));
}

}  // namespace tensorferry
