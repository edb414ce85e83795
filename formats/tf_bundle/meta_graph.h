// PREFIX.meta: the MetaGraphDef a TF1 Saver writes beside its checkpoint, which
// tf.compat.v1.train.import_meta_graph() turns back into a graph and a Saver, and which tools
// look for before they load a TF1 folder.
//
// What tensorferry writes is the graph TF1 builds for plain variables and a V2 Saver, and nothing
// else (no training ops):
//   per variable NAME:  NAME (VariableV2: dtype, shape), NAME/Initializer/zeros (Fill of the
//                       shape with a zero), NAME/Assign, NAME/read (Identity)
//   save/:              Const (the filename, a PlaceholderWithDefault), SaveV2 of every variable
//                       and control_dependency (what a save returns); RestoreV2 of every
//                       variable, one Assign per variable, and the NoOp restore_all grouping them
//   SaverDef:           save/Const:0, save/control_dependency:0, save/restore_all, V2
//   collections:        variables, trainable_variables (all but global_step), global_step
// It holds per-variable metadata only (names, dtypes, shapes), never values.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace tensorferry::tf_bundle {

// The serialized MetaGraphDef for a checkpoint holding `variables`. Throws Error(kUsage) for a
// dtype TensorFlow has no DataType for.
std::string build_meta_graph(const std::vector<TensorInfo>& variables);

// Writes build_meta_graph(variables) to `path` (a new file, fsynced).
void write_meta_graph(const std::string& path, const std::vector<TensorInfo>& variables);

}  // namespace tensorferry::tf_bundle
