// libFuzzer target: any bytes as a state-dict pickle, straight into the restricted machine, the
// torch allowlist and the tensor naming walk (no zip around it, so each run is cheap). Must
// succeed or throw tensorferry::Error. Build with -DTENSORFERRY_FUZZ=ON (clang); good seeds are
// the data.pkl records of small torch.save files.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "formats/torch/pickle_machine.h"
#include "formats/torch/tensor_names.h"
#include "formats/torch/torch_unpickler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  PickleLimits limits;
  limits.max_values = 1u << 16;  // small limits keep each run fast; the code paths are the same
  limits.max_memo = 1u << 16;
  limits.max_stack = 1u << 16;
  ValueStore store(limits);
  TorchUnpickler env(size % 2 ? TorchUnpickler::Flavor::kLegacy : TorchUnpickler::Flavor::kZip,
                     uint64_t{1} << 20);
  try {
    const auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
    const PickleResult r = run_pickle(bytes, store, env, limits, "fuzz.pkl", 0);
    name_tensors(store, env, r.root);
  } catch (const Error&) {
  }
  return 0;
}
