#include "formats/keras_h5/keras_h5.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("input.h5", data, size);
  TENSORFERRY_FUZZ_BODY({
    auto reader = open_keras_h5(path);
    fuzz::read_everything(*reader);
  });
}
