// libFuzzer target: any bytes as a folder's TF `checkpoint` state file (text-format
// CheckpointState), through the parser and the prefix resolution convert and inspect use.
#include "formats/tf_bundle/checkpoint_state.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("checkpoint", data, size);
  TENSORFERRY_FUZZ_BODY({
    (void)tf_bundle::read_checkpoint_state(path);
    (void)tf_bundle::prefix_from_state_file(fuzz::fuzz_dir().string());
  });
}
