// A TF2 object-based checkpoint (tf.train.Checkpoint(model=...).save) read under its variables'
// names instead of its object paths.
//
// The bundle keys of such a checkpoint are paths through the object graph
// ("model/bert/encoder/layer/0/attention/self_attention/query/kernel/.ATTRIBUTES/VARIABLE_VALUE");
// the graph (_CHECKPOINTABLE_OBJECT_GRAPH) records, for every variable, the `full_name` the
// variable was created with ("tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel"),
// which is what a TF1 name-based Saver restores by and what Keras names the weight in a
// tf_model.h5 under its top-level layer. So a Hugging Face TF2 model's checkpoint reads as its
// tf_model.h5 would: each weight is listed as "<layer>/<full_name>:0" ("bert/tf_bert_model/bert/
// ...:0"), the second component of the full name being the top-level Keras layer. Optimizer slots,
// counters and the graph itself keep their keys (their roles are the bundle reader's).
//
// Validated before anything is trusted: every weight has exactly one variable in the graph, every
// variable of the graph names a tensor the bundle holds, full names are well formed and unique.
#pragma once

#include <memory>

#include "core/checkpoint.h"
#include "core/error.h"

namespace tensorferry::tf_bundle {

// Whether `reader` is a TF bundle with an object graph (a TF2 object-based checkpoint).
bool is_object_based(const CheckpointReader& reader);

// `bundle` listed under its variables' Keras weight names (see above). Throws kBadInput naming the
// file, tensor and offset when the object graph does not account for the tensors.
std::unique_ptr<CheckpointReader> read_by_variable_names(std::unique_ptr<CheckpointReader> bundle);

// `e`, when it names a weight of `reader` (a read_by_variable_names reader) only by the checkpoint
// (a conversion's plan does), with where the bundle stores it: the data file, the byte offset and
// the object path, which is what TensorFlow's tools list. Other errors come back unchanged.
Error located_in_bundle(const Error& e, const CheckpointReader& reader);

// The Keras weight name of a variable's full name: "scope/layer/rest" ->
// "layer/scope/layer/rest:0"; a name of one component stays as it is, with ":0".
std::string keras_weight_name(const std::string& full_name);

}  // namespace tensorferry::tf_bundle
