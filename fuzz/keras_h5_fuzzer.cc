// libFuzzer target: any bytes as a Keras / HF .h5 weight file, through every libhdf5 entry point
// tensorferry calls (run first in the forked probe, then for real) and reading every tensor.
#include <chrono>

#include "formats/keras_h5/hdf5_probe.h"
#include "formats/keras_h5/keras_h5.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A libhdf5 hang must end as the probe's bad input (2 s), well before libFuzzer's -timeout=10
  // calls the input a hang of tensorferry's own.
  tensorferry::h5::set_probe_base_timeout(std::chrono::seconds(2));
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
