// Keras 2 / Hugging Face weight files in HDF5 (`model.save_weights("x.h5")`, `tf_model.h5`, and
// HF's sharded `tf_model.h5.index.json` + `tf_model-0000N-of-0000M.h5`), through libhdf5.
//
// Tensor names. A tensor is named by its dataset path in a single file, without the leading '/':
// "<layer>/<weight name>", where <layer> is the entry of the root `layer_names` (an HDF5 group)
// and <weight name> the entry of that group's `weight_names` (the full TF variable name, which
// may itself contain '/'), e.g. "transformer/tfgpt2lm_head_model/transformer/wte/embeddings:0"
// or, for a plain Keras model, "dense_1/dense_1/kernel:0". Weight names alone are ambiguous (a
// Keras layer's weights need not start with its name, and HF repeats tied weights under two
// layers), the layer alone is lost by HF's sharded files; the pair is what a writer needs to
// rebuild the same file. tf-keras' `top_level_model_weights` group (weights owned by the model
// itself) appears as the layer "top_level_model_weights"; it is not listed in `layer_names`.
//
// HF sharded files store only the weight name (index key) and the weight name without its model
// scope (shard dataset); their tensors are presented under the single-file names, the layer
// being the first component of the shard dataset name (HF's top-level layer), so a model reads
// the same sharded or not. See docs/formats/keras-h5.md.
//
// Metadata: the reader reports the root attributes `backend`, `keras_version` and `layer_names`
// (a JSON array, the only trace of weightless layers) plus `layout` ("keras" or "hf-shard"); the
// writer takes `backend`, `keras_version` and `layer_names` from WriterOptions::metadata when
// given (defaults: "tensorflow", "2.15.1", the layers in order of first appearance).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "core/checkpoint.h"

namespace tensorferry {

bool looks_like_hdf5(std::span<const std::byte> first_bytes);

// One .h5 file, or a tf_model.h5.index.json with its shards.
std::unique_ptr<CheckpointReader> open_keras_h5(const std::string& path);

// One file in the Keras layout; with options.shard_size, and when the tensors do not fit one
// shard, HF's sharded layout beside `path` (`path`.index.json + shards). Sharding needs HF names
// ("<layer>/<scope>/<layer>/..."), since the layer must be recoverable from the shard datasets.
std::unique_ptr<CheckpointWriter> create_keras_h5_writer(const std::string& path,
                                                         const WriterOptions& options);

}  // namespace tensorferry
