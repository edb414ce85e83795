#include "formats/gguf/gguf.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("input.gguf", data, size);
  TENSORFERRY_FUZZ_BODY({
    auto reader = open_gguf(path);
    reader->metadata();
    fuzz::read_everything(*reader);
  });
}
