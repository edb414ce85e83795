// Reading and writing checkpoints: the container-level interfaces of tensorferry's core.
//
//   auto reader = tensorferry::open_checkpoint("model.safetensors");  // format by magic bytes
//   for (size_t i = 0; i < reader->tensors().size(); ++i) {
//     std::vector<std::byte> scratch;
//     std::span<const std::byte> bytes = reader->read(i, scratch);  // a view of the mapping
//   }                                                                // when the bytes allow it
//
// CheckpointReader lists tensors (name, dtype, shape, nbytes, file, offset, role) without reading
// data and hands out each tensor's bytes dense, row-major and little-endian: a view into the
// memory-mapped file where the stored bytes already are in that form, otherwise a copy in the
// caller's scratch buffer. CheckpointWriter takes tensors one at a time (begin, write..., commit)
// and publishes the whole output atomically. Formats: safetensors, pytorch (torch.save, zip and
// legacy), tf-bundle (TF1/TF2 tensor bundles), keras-h5, gguf.
#pragma once

#include "core/checkpoint.h"
#include "core/dtype.h"
#include "core/tensor.h"
#include "formats/registry.h"
