// Pieces of the Keras HDF5 format shared by the reader, the writers and the sharding glue.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/checkpoint.h"

namespace tensorferry::keras_h5 {

// tf-keras' save_weights_to_hdf5_group puts the weights a model owns directly (not through a
// layer) into this group, which is not listed in `layer_names`; it writes the group, with an
// empty `weight_names`, even when there are none (every HF tf_model.h5 has it).
inline constexpr std::string_view kTopLevelGroup = "top_level_model_weights";

// What tf-keras 2.15 writes into `backend` and `keras_version` (tf_keras.__version__ is
// "2.15.1"; Keras only looks at the version to apply Keras 1 conversions when it starts with 1).
inline constexpr std::string_view kDefaultBackend = "tensorflow";
inline constexpr std::string_view kDefaultKerasVersion = "2.15.1";

// Metadata keys: the reader reports these root attributes, the writer takes them from
// WriterOptions::metadata. `layer_names` is a JSON array, so that weightless layers (Dropout,
// InputLayer), which no tensor names, survive a round trip when the caller passes it on.
inline constexpr std::string_view kBackendKey = "backend";
inline constexpr std::string_view kKerasVersionKey = "keras_version";
inline constexpr std::string_view kLayerNamesKey = "layer_names";
inline constexpr std::string_view kLayoutKey = "layout";  // "keras" or "hf-shard" (reader only)
// Whole-model saves (reader only): the group the weights were found in, and what was not read.
inline constexpr std::string_view kWeightsGroupKey = "weights_group";
inline constexpr std::string_view kOptimizerWeightsKey = "optimizer_weights";

// One .h5 file: the Keras layout (groups per layer), or one shard of HF's sharded layout (flat
// datasets listed in the root `layer_names`), whose tensors are then named by dataset path.
std::unique_ptr<CheckpointReader> open_file(const std::string& path);

// Writes one file in the Keras layout. Tensor "<layer>/<weight name>" becomes dataset
// /<layer>/<weight name>, listed in the layer group's `weight_names`.
std::unique_ptr<CheckpointWriter> create_file_writer(const std::string& path,
                                                     const WriterOptions& options);

// Writes one shard of HF's sharded layout: tensor names are full Keras weight names (the index
// keys); each becomes the dataset hf_shard_dataset_name(name) at the root, listed in the root
// `layer_names` in sorted order of the full names, as TFPreTrainedModel.save_pretrained does.
std::unique_ptr<CheckpointWriter> create_hf_shard_writer(const std::string& path,
                                                         const WriterOptions& options);

// transformers' strip_model_name_and_prefix: drops the first component (the model's name scope)
// unless the name contains "model." or has a single component.
std::string hf_shard_dataset_name(std::string_view weight_name);

// Why `path` cannot name an object below an HDF5 group the way Keras names it (empty, a leading
// '/', which HDF5 resolves from the file root, an empty component, "." or "..", a NUL byte);
// empty when it can.
std::string path_problem(std::string_view path);

// The first '/'-separated component of `name` (all of it when there is no '/').
std::string_view first_component(std::string_view name);

}  // namespace tensorferry::keras_h5
