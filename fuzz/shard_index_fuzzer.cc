#include "formats/sharding.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("model.safetensors.index.json", data, size);
  TENSORFERRY_FUZZ_BODY({ (void)read_shard_index(path); });
}
