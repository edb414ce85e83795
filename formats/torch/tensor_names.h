// Where the tensors of an unpickled object are, and what to call them.
//
// torch.save stores any Python object. The rule: the path from the top-level object to a tensor,
// joined with '.', is its name. Dict keys (str or int) and list/tuple indices are the path
// elements; argparse.Namespace attributes count like dict keys. So a plain state dict
// {"fc.weight": t} gives "fc.weight" (exactly the names load_state_dict wants), and a training
// checkpoint {"model": state_dict, "optimizer": {...}, "epoch": 3} gives "model.fc.weight",
// "optimizer.state.0.exp_avg", ...; the int `epoch` is not a tensor and is not listed. A file
// holding one bare tensor names it "tensor".
//
// The object graph comes from an untrusted pickle: it can share sub-objects (a DAG whose paths
// multiply), contain cycles and nest deeply. The walk skips cycles, refuses nesting deeper than
// kMaxDepth and stops after kMaxVisits steps, so its time and stack use are bounded.
#pragma once

#include <string>
#include <vector>

#include "formats/torch/pickle_value.h"
#include "formats/torch/torch_unpickler.h"

namespace tensorferry {

struct NamedTensor {
  std::string name;
  size_t tensor;  // index into TorchUnpickler::tensors()
};

// In pickle order. Throws Error(kBadInput) when the top-level object is neither a tensor nor a
// container (torch.save(None)), on two tensors with the same name, on a tensor under a dict key
// that is not a str/int/bool/None, and when the limits above are exceeded.
std::vector<NamedTensor> name_tensors(const ValueStore& store, const TorchUnpickler& env,
                                      ValueId root);

// For messages about a storage: the name of the first tensor that views storages()[storage],
// or "" when none does (or the object cannot be named at all).
std::string first_tensor_of_storage(const ValueStore& store, const TorchUnpickler& env,
                                    ValueId root, size_t storage);

}  // namespace tensorferry
