// Writing one .h5 file through libhdf5: the Keras 2 layout of model.save_weights("x.h5"), or
// one shard of Hugging Face's flat sharded layout.
//
// Every group and dataset is created in begin(), so that a name conflict is found before any data
// flows; the data of each tensor is written by write() as it arrives (contiguous storage is
// allocated at the first write, so the file's data section follows tensor order). The file is
// built under the AtomicOutput staging name and only renamed into place by commit().
//
// Objects are created without modification times (H5Pset_obj_track_times off), so the same
// tensors always produce the same bytes.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output.h"
#include "core/release_touched.h"
#include "formats/capabilities.h"
#include "formats/keras_h5/hdf5_attributes.h"
#include "formats/keras_h5/hdf5_dtype.h"
#include "formats/keras_h5/hdf5_handle.h"
#include "formats/keras_h5/keras_h5_internal.h"

namespace tensorferry::keras_h5 {
namespace {

enum class Layout { kKeras, kHfShard };

struct Planned {
  std::string dataset;  // absolute HDF5 path
  std::string layer;    // Keras layout: the layer group; empty for HF shards
  std::string weight;   // Keras layout: the name in the layer's weight_names
};

// The layer order: the caller's `layer_names` metadata when given (it carries weightless
// layers), then every other layer in order of first appearance.
std::vector<std::string> layer_order(const std::vector<Planned>& plan,
                                     const WriterOptions& options) {
  std::vector<std::string> layers;
  std::set<std::string> seen;
  if (auto it = options.metadata.find(std::string(kLayerNamesKey)); it != options.metadata.end()) {
    nlohmann::json names = nlohmann::json::parse(it->second, nullptr, false);
    if (!names.is_array()) throw_usage("metadata layer_names must be a JSON array of layer names");
    for (const auto& name : names) {
      if (!name.is_string()) throw_usage("metadata layer_names must be a JSON array of strings");
      const std::string layer = name.get<std::string>();
      if (layer == kTopLevelGroup) continue;  // written anyway, never listed
      if (layer.find('/') != std::string::npos || !path_problem(layer).empty())
        throw_usage("metadata layer_names lists '" + layer + "', which is not a plain name");
      if (!seen.insert(layer).second)
        throw_usage("metadata layer_names lists '" + layer + "' twice");
      layers.push_back(layer);
    }
  }
  for (const auto& p : plan)
    if (p.layer != kTopLevelGroup && seen.insert(p.layer).second) layers.push_back(p.layer);
  return layers;
}

std::string metadata_or(const WriterOptions& options, std::string_view key,
                        std::string_view fallback) {
  auto it = options.metadata.find(std::string(key));
  return it == options.metadata.end() ? std::string(fallback) : it->second;
}

class H5FileWriter final : public CheckpointWriter {
 public:
  H5FileWriter(const std::string& path, WriterOptions options, Layout layout)
      : output_(path, AtomicOutput::Kind::kFile, options.force),
        options_(std::move(options)),
        layout_(layout) {}

  ~H5FileWriter() override {
    auto lock = h5::lock_library();
    file_.reset();  // the staging file is then removed by output_, unless committed
  }

  void begin(const std::vector<TensorInfo>& tensors) override {
    if (begun_) throw_usage("keras-h5 writer: begin() called twice");
    begun_ = true;
    tensors_ = tensors;
    plan();
    auto lock = h5::lock_library();
    create_file();
  }

  void write(size_t index, std::span<const std::byte> bytes) override {
    if (!begun_ || index != next_)
      throw_usage("keras-h5 writer: tensors must be written in declaration order");
    const TensorInfo& info = tensors_[index];
    if (bytes.size() != info.nbytes)
      throw Error(
          ErrorKind::kUsage,
          "got " + std::to_string(bytes.size()) + " bytes, declared " + std::to_string(info.nbytes),
          file_name(), info.name);
    ++next_;
    if (bytes.empty()) return;
    auto lock = h5::lock_library();
    const std::string& dataset_path = plan_[index].dataset;
    h5::Handle dataset(H5Dopen2(file_.get(), dataset_path.c_str(), H5P_DEFAULT));
    h5::check(dataset.get(), ErrorKind::kIo, file_name(), "cannot open " + dataset_path, info.name);
    h5::Handle memory = h5::make_type(info.dtype);
    if (info.shape.empty() || bytes.size() <= kStreamPiece) {
      h5::check(H5Dwrite(dataset.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()),
                ErrorKind::kIo, file_name(), "cannot write " + dataset_path, info.name);
    } else {
      write_in_row_blocks(dataset.get(), memory.get(), info, bytes, dataset_path);
    }
    release_touched(bytes);  // a small tensor's folios too (core/release_touched.h)
  }

  // A large tensor goes in blocks of whole leading-axis rows (a hyperslab of the contiguous
  // dataset, so HDF5 writes each block straight from memory); each block of a mapped input is
  // released once written, so the resident set stays near one block.
  void write_in_row_blocks(hid_t dataset, hid_t memory, const TensorInfo& info,
                           std::span<const std::byte> bytes, const std::string& dataset_path) {
    const auto rank = info.shape.size();
    const uint64_t rows = static_cast<uint64_t>(info.shape[0]);
    const uint64_t row_bytes = rows ? bytes.size() / rows : 0;
    if (row_bytes == 0) return;
    const uint64_t rows_per_block = std::max<uint64_t>(1, kStreamPiece / row_bytes);
    h5::Handle file_space(H5Dget_space(dataset));
    h5::check(file_space.get(), ErrorKind::kIo, file_name(),
              "cannot get the space of " + dataset_path, info.name);
    std::vector<hsize_t> start(rank, 0), count(info.shape.begin(), info.shape.end());
    for (uint64_t r = 0; r < rows; r += rows_per_block) {
      const uint64_t n = std::min(rows_per_block, rows - r);
      start[0] = r;
      count[0] = n;
      h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                    count.data(), nullptr),
                ErrorKind::kIo, file_name(), "cannot select rows of " + dataset_path, info.name);
      h5::Handle memory_space(H5Screate_simple(static_cast<int>(rank), count.data(), nullptr));
      const auto block = bytes.subspan(r * row_bytes, n * row_bytes);
      h5::check(H5Dwrite(dataset, memory, memory_space.get(), file_space.get(), H5P_DEFAULT,
                         block.data()),
                ErrorKind::kIo, file_name(), "cannot write " + dataset_path, info.name);
      release_consumed(block);
    }
  }

  void commit() override {
    if (!begun_ || next_ != tensors_.size())
      throw_usage("keras-h5 writer: commit() before every tensor was written");
    {
      auto lock = h5::lock_library();
      if (H5Fclose(file_.release()) < 0)
        h5::throw_error(ErrorKind::kIo, file_name(), "cannot finish the HDF5 file");
    }
    // libhdf5 does not fsync; the rename below must not publish a file whose data is not durable.
    const std::string staging = output_.staging_path().string();
    const int fd = ::open(staging.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_io(staging, "cannot reopen to sync", errno);
    const int synced = ::fsync(fd);
    const int sync_errno = errno;
    ::close(fd);
    if (synced != 0) throw_io(staging, "cannot sync", sync_errno);
    output_.commit();
  }

 private:
  std::string file_name() const { return output_.final_path().string(); }

  // Decides every dataset path and checks that they can all exist side by side.
  void plan() {
    std::set<std::string> datasets;
    for (const auto& info : tensors_) {
      if (!h5::can_write(info.dtype))
        throw Error(ErrorKind::kUsage,
                    "HDF5 weights (h5py, Keras) have no " + std::string(dtype_name(info.dtype)) +
                        " type; convert the tensor to another dtype first",
                    file_name(), info.name);
      if (dense_byte_size(info.dtype, info.shape) != info.nbytes)
        throw Error(ErrorKind::kUsage, "declared size does not match dtype and shape", file_name(),
                    info.name);
      Planned p;
      if (layout_ == Layout::kKeras) {
        // What planning checks (formats/capabilities.h): "<layer>/<weight>", a valid HDF5 path.
        if (const std::string problem = tensor_name_problem(Format::kKerasH5, info.name);
            !problem.empty())
          throw Error(ErrorKind::kUsage, problem, file_name(), info.name);
        const size_t slash = info.name.find('/');
        p.layer = info.name.substr(0, slash);
        p.weight = info.name.substr(slash + 1);
        p.dataset = "/" + info.name;
      } else {
        p.dataset = "/" + hf_shard_dataset_name(info.name);
      }
      if (const std::string problem = path_problem(p.dataset.substr(1)); !problem.empty())
        throw Error(ErrorKind::kUsage, "cannot be an HDF5 path: " + problem, file_name(),
                    info.name);
      if (!datasets.insert(p.dataset).second)
        throw Error(ErrorKind::kUsage, "two tensors would be stored as " + p.dataset, file_name(),
                    info.name);
      plan_.push_back(std::move(p));
    }
    // Every proper prefix of a dataset path is a group; no path may be both.
    for (const auto& path : datasets)
      for (size_t slash = path.find('/', 1); slash != std::string::npos;
           slash = path.find('/', slash + 1))
        if (datasets.count(path.substr(0, slash)))
          throw Error(ErrorKind::kUsage,
                      path.substr(0, slash) + " would have to be both a dataset and a group",
                      file_name(), path.substr(1));
    if (layout_ == Layout::kKeras) layers_ = layer_order(plan_, options_);
  }

  void create_file() {
    const std::string staging = output_.staging_path().string();
    h5::Handle access(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_file_locking(access.get(), false, true);
    // Default file format (superblock 0, "earliest"), as h5py writes by default: readable by
    // every HDF5 1.8+, and the format whose 64 KiB header limit Keras' attribute split assumes.
    file_ = h5::Handle(H5Fcreate(staging.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()));
    h5::check(file_.get(), ErrorKind::kIo, staging, "cannot create the HDF5 file");
    group_properties_ = h5::Handle(H5Pcreate(H5P_GROUP_CREATE));
    H5Pset_obj_track_times(group_properties_.get(), false);
    dataset_properties_ = h5::Handle(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_obj_track_times(dataset_properties_.get(), false);
    H5Pset_layout(dataset_properties_.get(), H5D_CONTIGUOUS);
    H5Pset_alloc_time(dataset_properties_.get(), H5D_ALLOC_TIME_LATE);
    H5Pset_fill_time(dataset_properties_.get(), H5D_FILL_TIME_NEVER);
    h5::Handle root(H5Gopen2(file_.get(), "/", H5P_DEFAULT));
    h5::check(root.get(), ErrorKind::kIo, staging, "cannot open the root group");
    created_groups_.insert("/");
    if (layout_ == Layout::kKeras) {
      create_keras_layout(root.get());
    } else {
      create_hf_shard_layout(root.get());
    }
  }

  // save_weights_to_hdf5_group: root attributes, then one group per layer in sorted name order
  // with its weight_names and datasets, then top_level_model_weights.
  void create_keras_layout(hid_t root) {
    h5::write_name_list(root, "layer_names", layers_, file_name());
    h5::write_text(root, "backend", metadata_or(options_, kBackendKey, kDefaultBackend),
                   file_name());
    h5::write_text(root, "keras_version",
                   metadata_or(options_, kKerasVersionKey, kDefaultKerasVersion), file_name());
    std::vector<std::string> groups = layers_;
    std::sort(groups.begin(), groups.end());
    groups.emplace_back(kTopLevelGroup);
    for (const auto& layer : groups) {
      h5::Handle group = create_group("/" + layer);
      std::vector<std::string> weight_names;
      std::vector<size_t> members;
      for (size_t i = 0; i < plan_.size(); ++i)
        if (plan_[i].layer == layer) {
          weight_names.push_back(plan_[i].weight);
          members.push_back(i);
        }
      h5::write_name_list(group.get(), "weight_names", weight_names, file_name());
      for (size_t i : members) create_dataset(i);
    }
  }

  // TFPreTrainedModel.save_pretrained for a shard: the shard's weights sorted by full name, each
  // at its stripped name, listed in the root `layer_names`; no other attribute.
  void create_hf_shard_layout(hid_t root) {
    std::vector<size_t> order(plan_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors_[a].name < tensors_[b].name; });
    std::vector<std::string> names;
    for (size_t i : order) {
      create_dataset(i);
      names.push_back(plan_[i].dataset.substr(1));
    }
    h5::write_name_list(root, "layer_names", names, file_name());
  }

  h5::Handle create_group(const std::string& path) {
    created_groups_.insert(path);
    h5::Handle group(
        H5Gcreate2(file_.get(), path.c_str(), H5P_DEFAULT, group_properties_.get(), H5P_DEFAULT));
    h5::check(group.get(), ErrorKind::kIo, file_name(), "cannot create group " + path);
    return group;
  }

  void create_dataset(size_t index) {
    const TensorInfo& info = tensors_[index];
    const std::string& path = plan_[index].dataset;
    // Parent groups one by one (rather than H5Pset_create_intermediate_group), so that they get
    // the same creation properties as every other group.
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string parent = path.substr(0, slash);
      if (!created_groups_.count(parent)) create_group(parent);
    }
    h5::Handle space(
        info.shape.empty()
            ? H5Screate(H5S_SCALAR)
            : H5Screate_simple(static_cast<int>(info.shape.size()),
                               std::vector<hsize_t>(info.shape.begin(), info.shape.end()).data(),
                               nullptr));
    h5::check(space.get(), ErrorKind::kUsage, file_name(),
              "HDF5 cannot hold shape " + shape_to_string(info.shape), info.name);
    h5::Handle type = h5::make_type(info.dtype);
    h5::Handle dataset(H5Dcreate2(file_.get(), path.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                  dataset_properties_.get(), H5P_DEFAULT));
    h5::check(dataset.get(), ErrorKind::kIo, file_name(), "cannot create dataset " + path,
              info.name);
  }

  AtomicOutput output_;
  WriterOptions options_;
  Layout layout_;
  h5::Handle file_;
  h5::Handle group_properties_;
  h5::Handle dataset_properties_;
  std::vector<TensorInfo> tensors_;
  std::vector<Planned> plan_;
  std::vector<std::string> layers_;
  std::set<std::string> created_groups_;
  bool begun_ = false;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<CheckpointWriter> create_file_writer(const std::string& path,
                                                     const WriterOptions& options) {
  return std::make_unique<H5FileWriter>(path, options, Layout::kKeras);
}

std::unique_ptr<CheckpointWriter> create_hf_shard_writer(const std::string& path,
                                                         const WriterOptions& options) {
  return std::make_unique<H5FileWriter>(path, options, Layout::kHfShard);
}

}  // namespace tensorferry::keras_h5
