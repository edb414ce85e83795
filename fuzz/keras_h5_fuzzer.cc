// libFuzzer target: any bytes as a Keras / HF .h5 weight file, through every libhdf5 entry point
// tensorferry calls (run first in the forked probe, then for real) and reading every tensor.
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>

#include <chrono>

#include "formats/keras_h5/hdf5_probe.h"
#include "formats/keras_h5/keras_h5.h"
#include "fuzz/fuzz_input.h"

namespace {
// The probe's child runs libhdf5 on the input, and a sanitizer report there is libhdf5's bug,
// contained by the probe (the parent sees the child die and reports bad input). libFuzzer's death
// callback would save each as a crash-* of this target, as if tensorferry had failed; the child
// dies without it, so fuzz-crashes/ holds only inputs that broke the fuzzer process itself. The
// report is still printed.
void child_dies_without_saving_the_input() { __sanitizer_set_death_callback(nullptr); }
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A libhdf5 hang must end as the probe's bad input (2 s), well before libFuzzer's -timeout=10
  // calls the input a hang of tensorferry's own.
  tensorferry::h5::set_probe_base_timeout(std::chrono::seconds(2));
  pthread_atfork(nullptr, nullptr, child_dies_without_saving_the_input);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("input.h5", data, size);
  TENSORFERRY_FUZZ_BODY({
    auto reader = open_keras_h5(path);
    fuzz::read_everything(*reader);
  });
}
