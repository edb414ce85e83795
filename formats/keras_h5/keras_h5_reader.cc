// Reading one Keras 2 / Hugging Face .h5 weights file through libhdf5.
//
// Only what Keras itself would load is listed: the layers named in the root `layer_names`, the
// weights each layer group names in `weight_names`, and tf-keras' `top_level_model_weights`.
// Other datasets are ignored, as Keras ignores them. Links are followed only when they are hard
// links: a soft or external link (or a dataset with external storage, or a virtual dataset)
// could make a weights file read bytes from anywhere on disk.
#include <nlohmann/json.hpp>
#include <set>

#include "core/bytes.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/mapped_file.h"
#include "formats/keras_h5/hdf5_attributes.h"
#include "formats/keras_h5/hdf5_dtype.h"
#include "formats/keras_h5/hdf5_handle.h"
#include "formats/keras_h5/hdf5_probe.h"
#include "formats/keras_h5/keras_h5_internal.h"

namespace tensorferry::keras_h5 {
namespace {

// A filtered (compressed) dataset may expand beyond the bytes it occupies, but deflate, the
// strongest filter libhdf5 ships, cannot expand more than 1032:1. A claim beyond that (plus some
// room for chunks never written, which read as the fill value) is refused before allocating.
constexpr uint64_t kMaxExpansion = 1032;
constexpr uint64_t kUnstoredAllowance = 1 << 20;

// Address space libhdf5 may use to parse a file's structure in the probe (hdf5_probe.h). Keras
// files with tens of thousands of weights need a few MiB; a corrupt length asks for gigabytes.
constexpr uint64_t kProbeMemory = 512ull << 20;

std::string join_path(const std::string& base, std::string_view relative) {
  return base == "/" ? "/" + std::string(relative) : base + "/" + std::string(relative);
}

struct Stored {
  std::string dataset;  // absolute HDF5 path
  bool mapped = false;  // bytes are handed out from the mapped file without libhdf5
};

class KerasH5Reader final : public CheckpointReader {
 public:
  explicit KerasH5Reader(std::string path) : path_(std::move(path)) {
    mapped_ = MappedFile::open(path_);
    auto lock = h5::lock_library();
    h5::Handle access(H5Pcreate(H5P_FILE_ACCESS));
    // Strong close: closing the file closes everything still open in it. No locking: the file is
    // only read, and flock fails on some network file systems.
    H5Pset_fclose_degree(access.get(), H5F_CLOSE_STRONG);
    H5Pset_file_locking(access.get(), false, true);
    file_ = h5::Handle(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, access.get()));
    if (!file_.valid()) bad("not a readable HDF5 file: " + h5::take_error_stack());
    load();
  }

  ~KerasH5Reader() override {
    auto lock = h5::lock_library();
    file_.reset();
  }

  std::string format() const override { return "keras-h5"; }
  std::string path() const override { return path_; }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::map<std::string, std::string> metadata() const override { return metadata_; }

  std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) override {
    const TensorEntry& entry = entries_.at(index);
    const Stored& stored = stored_.at(index);
    if (stored.mapped) return mapped_->slice(entry.offset, entry.nbytes, "dataset", entry.name);
    if (entry.nbytes == 0) return {};
    // Data libhdf5 decodes (filtered, chunked) is first decoded in a throwaway process
    // (hdf5_probe.h), the first time it is read: not when the file is opened, so that inspect,
    // which reads no data, never inflates a compressed dataset.
    if (!probed_.contains(index)) {
      h5::probe_in_child(path_,
                         [&] {
                           h5::extend_probe_memory(entry.nbytes);
                           std::vector<std::byte> probe_scratch;
                           read_through_libhdf5(index, probe_scratch);
                         },
                         {h5::probe_timeout(mapped_->size()), kProbeMemory + mapped_->size()});
      probed_.insert(index);
    }
    return read_through_libhdf5(index, scratch);
  }

  std::span<const std::byte> read_through_libhdf5(size_t index, std::vector<std::byte>& scratch) {
    const TensorEntry& entry = entries_.at(index);
    const Stored& stored = stored_.at(index);
    auto lock = h5::lock_library();
    h5::Handle dataset(H5Dopen2(file_.get(), stored.dataset.c_str(), H5P_DEFAULT));
    h5::Handle memory = h5::make_type(entry.dtype);
    if (!dataset.valid() || !memory.valid())
      bad("cannot open dataset " + stored.dataset + ": " + h5::take_error_stack(), entry.name);
    scratch.resize(entry.nbytes);
    if (H5Dread(dataset.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, scratch.data()) < 0)
      bad("cannot read dataset " + stored.dataset + ": " + h5::take_error_stack(), entry.name);
    return {scratch.data(), entry.nbytes};
  }

  void release(size_t index) override {
    if (stored_.at(index).mapped) mapped_->release(entries_[index].offset, entries_[index].nbytes);
  }

 private:
  [[noreturn]] void bad(const std::string& message, const std::string& tensor = {},
                        std::optional<uint64_t> offset = std::nullopt) const {
    throw_bad_input(path_, offset, message, tensor);
  }

  h5::AttributeContext context(const std::string& object) const {
    return {path_, mapped_->size(), object};
  }

  // Opens `relative` below the object at `base` one link at a time, following hard links only.
  // Returns an invalid handle when a link is missing.
  h5::Handle open_below(hid_t base, const std::string& base_path, std::string_view relative,
                        const std::string& tensor) const {
    h5::Handle current(H5Oopen(base, ".", H5P_DEFAULT));
    std::string at = base_path;
    size_t start = 0;
    while (current.valid()) {
      const size_t end = relative.find('/', start);
      const std::string part(relative.substr(start, end - start));
      at = join_path(at, part);
      const htri_t exists = H5Lexists(current.get(), part.c_str(), H5P_DEFAULT);
      if (exists < 0) bad("cannot look up " + at + ": " + h5::take_error_stack(), tensor);
      if (exists == 0) return h5::Handle();
      H5L_info_t link;
      if (H5Lget_info(current.get(), part.c_str(), &link, H5P_DEFAULT) < 0)
        bad("cannot read link " + at + ": " + h5::take_error_stack(), tensor);
      if (link.type != H5L_TYPE_HARD)
        bad(at + " is a soft or external link; only hard links are followed", tensor);
      current = h5::Handle(H5Oopen(current.get(), part.c_str(), H5P_DEFAULT));
      if (!current.valid()) bad("cannot open " + at + ": " + h5::take_error_stack(), tensor);
      if (end == std::string_view::npos) return current;
      start = end + 1;
    }
    bad("cannot open " + base_path + ": " + h5::take_error_stack(), tensor);
  }

  void load() {
    h5::Handle root(H5Gopen2(file_.get(), "/", H5P_DEFAULT));
    if (!root.valid()) bad("cannot open the root group: " + h5::take_error_stack());
    std::string weights_path = "/";
    auto layer_names = h5::read_name_list(root.get(), "layer_names", context("/"));
    h5::Handle weights;
    if (layer_names) {
      weights = std::move(root);
    } else {
      // A whole-model save (model.save("x.h5")) keeps the same structure under /model_weights;
      // Keras' load_weights reads it from there too.
      weights = open_below(root.get(), "/", "model_weights", {});
      if (weights.valid() && H5Iget_type(weights.get()) == H5I_GROUP) {
        weights_path = "/model_weights";
        layer_names = h5::read_name_list(weights.get(), "layer_names", context(weights_path));
      }
      if (!layer_names) {
        const bool keras3 = H5Lexists(root.get(), "vars", H5P_DEFAULT) > 0 ||
                            H5Lexists(root.get(), "layers", H5P_DEFAULT) > 0;
        H5Eclear2(H5E_DEFAULT);
        bad(std::string("not a Keras 2 weights file: no 'layer_names' attribute at the root") +
            (keras3 ? " (this looks like a Keras 3 .weights.h5 file, which is not supported)"
                    : ""));
      }
      metadata_[std::string(kWeightsGroupKey)] = weights_path;
      note_optimizer_weights(root.get());
    }

    const auto where = context(weights_path);
    if (auto backend = h5::read_text(weights.get(), "backend", where))
      metadata_[std::string(kBackendKey)] = *backend;
    if (auto version = h5::read_text(weights.get(), "keras_version", where))
      metadata_[std::string(kKerasVersionKey)] = *version;

    // HF's sharded save lists datasets, not layer groups, in the root `layer_names`.
    bool flat = false;
    if (!layer_names->empty() && path_problem(layer_names->front()).empty()) {
      h5::Handle first = open_below(weights.get(), weights_path, layer_names->front(), {});
      flat = first.valid() && H5Iget_type(first.get()) == H5I_DATASET;
    }
    metadata_[std::string(kLayoutKey)] = flat ? "hf-shard" : "keras";
    if (flat) {
      load_flat(weights.get(), weights_path, *layer_names);
    } else {
      // Weightless layers name no tensor; this is the only place their names survive.
      metadata_[std::string(kLayerNamesKey)] =
          nlohmann::json(*layer_names)
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      load_layers(weights.get(), weights_path, *layer_names);
    }
  }

  void note_optimizer_weights(hid_t root) {
    h5::Handle optimizer = open_below(root, "/", "optimizer_weights", {});
    if (!optimizer.valid() || H5Iget_type(optimizer.get()) != H5I_GROUP) return;
    const auto names =
        h5::read_name_list(optimizer.get(), "weight_names", context("/optimizer_weights"));
    metadata_[std::string(kOptimizerWeightsKey)] =
        std::to_string(names ? names->size() : 0) +
        " optimizer weights under /optimizer_weights, not listed (Keras' load_weights ignores "
        "them too)";
  }

  void load_layers(hid_t weights, const std::string& weights_path,
                   const std::vector<std::string>& layer_names) {
    std::set<std::string> seen;
    for (const auto& layer : layer_names) {
      if (layer.find('/') != std::string::npos || !path_problem(layer).empty())
        bad("layer_names lists '" + layer + "', which is not a plain group name");
      if (!seen.insert(layer).second) bad("layer_names lists '" + layer + "' twice");
      load_layer(weights, weights_path, layer, /*required=*/true);
    }
    if (!seen.count(std::string(kTopLevelGroup)))
      load_layer(weights, weights_path, std::string(kTopLevelGroup), /*required=*/false);
  }

  void load_layer(hid_t weights, const std::string& weights_path, const std::string& layer,
                  bool required) {
    const std::string group_path = join_path(weights_path, layer);
    h5::Handle group = open_below(weights, weights_path, layer, {});
    if (!group.valid()) {
      if (!required) return;
      bad("layer_names lists '" + layer + "' but there is no group " + group_path);
    }
    if (H5Iget_type(group.get()) != H5I_GROUP) bad(group_path + " is not a group");
    // Keras reads a missing weight_names as the empty list.
    const auto weight_names = h5::read_name_list(group.get(), "weight_names", context(group_path))
                                  .value_or(std::vector<std::string>{});
    std::set<std::string> seen;
    for (const auto& weight : weight_names) {
      const std::string name = layer + "/" + weight;
      if (const std::string problem = path_problem(weight); !problem.empty())
        bad("weight_names of " + group_path + " lists an unusable name: " + problem, name);
      if (!seen.insert(weight).second)
        bad("weight_names of " + group_path + " lists this weight twice", name);
      add_dataset(group.get(), group_path, weight, name);
    }
  }

  void load_flat(hid_t weights, const std::string& weights_path,
                 const std::vector<std::string>& dataset_names) {
    std::set<std::string> seen;
    for (const auto& name : dataset_names) {
      if (const std::string problem = path_problem(name); !problem.empty())
        bad("layer_names lists an unusable dataset name: " + problem, name);
      if (!seen.insert(name).second) bad("layer_names lists this dataset twice", name);
      add_dataset(weights, weights_path, name, name);
    }
  }

  void add_dataset(hid_t base, const std::string& base_path, const std::string& relative,
                   const std::string& name) {
    const std::string dataset_path = join_path(base_path, relative);
    h5::Handle dataset = open_below(base, base_path, relative, name);
    if (!dataset.valid()) bad("listed, but there is no dataset " + dataset_path, name);
    if (H5Iget_type(dataset.get()) != H5I_DATASET) bad(dataset_path + " is not a dataset", name);

    TensorEntry entry;
    entry.name = name;
    entry.file = path_;
    h5::Handle type(H5Dget_type(dataset.get()));
    std::string why;
    const auto dtype = type.valid() ? h5::dtype_of(type.get(), &why) : std::nullopt;
    if (!dtype) bad(dataset_path + ": unsupported element type: " + why, name);
    entry.dtype = *dtype;
    entry.shape = read_shape(dataset.get(), dataset_path, name);
    check_tensor_count(entries_.size() + 1, path_);
    check_tensor_metadata(name, entry.shape, path_, std::nullopt);
    const auto nbytes = dense_byte_size(entry.dtype, entry.shape);
    if (!nbytes) bad(dataset_path + ": shape " + shape_to_string(entry.shape) + " overflows", name);
    entry.nbytes = *nbytes;

    Stored stored{dataset_path, false};
    check_storage(dataset.get(), type.get(), entry, stored);
    entries_.push_back(std::move(entry));
    stored_.push_back(std::move(stored));
  }

  Shape read_shape(hid_t dataset, const std::string& dataset_path, const std::string& name) const {
    h5::Handle space(H5Dget_space(dataset));
    if (!space.valid()) bad(dataset_path + ": unreadable shape: " + h5::take_error_stack(), name);
    const H5S_class_t kind = H5Sget_simple_extent_type(space.get());
    if (kind == H5S_SCALAR) return {};
    if (kind != H5S_SIMPLE) bad(dataset_path + ": has no shape (null dataspace)", name);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > H5S_MAX_RANK) bad(dataset_path + ": unreadable rank", name);
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
      bad(dataset_path + ": unreadable dimensions: " + h5::take_error_stack(), name);
    return Shape(dims.begin(), dims.end());
  }

  // Decides how the bytes are read: straight from the mapped file when libhdf5 stores them
  // there as they are (contiguous, unfiltered, little-endian native layout), otherwise through
  // H5Dread. Refuses storage that points outside this file or claims impossible sizes.
  void check_storage(hid_t dataset, hid_t type, TensorEntry& entry, Stored& stored) const {
    const std::string& at = stored.dataset;
    h5::Handle creation(H5Dget_create_plist(dataset));
    if (!creation.valid())
      bad(at + ": unreadable properties: " + h5::take_error_stack(), entry.name);
    const H5D_layout_t layout = H5Pget_layout(creation.get());
    if (layout == H5D_VIRTUAL) bad(at + ": virtual datasets are not supported", entry.name);
    if (H5Pget_external_count(creation.get()) != 0)
      bad(at + ": data stored in external files is not supported", entry.name);
    const int filters = H5Pget_nfilters(creation.get());
    if (filters < 0) bad(at + ": unreadable filter pipeline", entry.name);
    std::string filter_names;
    for (int i = 0; i < filters; ++i) {
      unsigned flags = 0, config = 0;
      size_t count = 0;
      char filter_name[64] = {};
      const H5Z_filter_t filter =
          H5Pget_filter2(creation.get(), static_cast<unsigned>(i), &flags, &count, nullptr,
                         sizeof filter_name, filter_name, &config);
      if (filter < 0) bad(at + ": unreadable filter pipeline", entry.name);
      if (H5Zfilter_avail(filter) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        bad(at + ": compressed with HDF5 filter " + std::to_string(filter) + " (" + filter_name +
                "), which libhdf5 does not provide (h5py's lzf, for one, is h5py's own)",
            entry.name);
      }
      filter_names += std::string(filter_names.empty() ? "" : ", ") + filter_name;
    }
    const uint64_t stored_bytes = H5Dget_storage_size(dataset);
    const bool native = h5::is_native_layout(type, entry.dtype);

    if (layout == H5D_CONTIGUOUS && filters == 0) {
      if (entry.nbytes == 0) return;
      const haddr_t address = H5Dget_offset(dataset);
      if (address == HADDR_UNDEF)
        bad(at + ": no data was ever written to this dataset", entry.name);
      if (stored_bytes != entry.nbytes)
        bad(at + ": stores " + std::to_string(stored_bytes) + " bytes, its shape needs " +
                std::to_string(entry.nbytes),
            entry.name);
      // H5Dget_offset counts from the start of the file, user block included.
      const auto end = checked_add(address, entry.nbytes);
      if (!end || *end > mapped_->size())
        bad(at + ": data lies beyond the end of the file", entry.name, address);
      entry.offset = address;
      stored.mapped = native;
      if (!native)
        entry.note = "stored big-endian or in another element encoding; converted on read";
      return;
    }
    if (layout == H5D_COMPACT && filters == 0) {
      if (stored_bytes != entry.nbytes)
        bad(at + ": compact data of " + std::to_string(stored_bytes) + " bytes, shape needs " +
                std::to_string(entry.nbytes),
            entry.name);
      entry.note = "compact (inside the object header); read through libhdf5";
      return;
    }
    const auto bound = checked_add(
        checked_mul(std::max<uint64_t>(stored_bytes, 1), kMaxExpansion).value_or(UINT64_MAX),
        kUnstoredAllowance);
    if (!bound || entry.nbytes > *bound)
      bad(at + ": claims " + std::to_string(entry.nbytes) + " bytes from " +
              std::to_string(stored_bytes) + " stored bytes, more than any filter expands",
          entry.name);
    entry.note = layout == H5D_CHUNKED ? "chunked" : "filtered";
    if (!filter_names.empty()) entry.note += " (" + filter_names + ")";
    entry.note += "; read through libhdf5";
  }

  std::string path_;
  std::shared_ptr<const MappedFile> mapped_;
  h5::Handle file_;
  std::vector<TensorEntry> entries_;
  std::vector<Stored> stored_;
  std::map<std::string, std::string> metadata_;
  std::set<size_t> probed_;  // tensors whose libhdf5 decoding ran in a probe without fault
};

}  // namespace

std::unique_ptr<CheckpointReader> open_file(const std::string& path) {
  // The structure, first in a throwaway process (hdf5_probe.h); the data of each tensor that is
  // not read from the mapping is probed when it is first read (KerasH5Reader::read).
  const uint64_t size = MappedFile::open(path)->size();
  h5::probe_in_child(path, [&] { KerasH5Reader reader(path); },
                     {h5::probe_timeout(size), kProbeMemory + size});  // + the mapping of the file
  return std::make_unique<KerasH5Reader>(path);
}

}  // namespace tensorferry::keras_h5
