// Input layout: u32 LE length of the .index part, the .index bytes, then the data shard bytes.
#include <cstring>

#include "formats/tf_bundle/tf_bundle.h"
#include "formats/tf_bundle/variable_names.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  if (size < 4) return 0;
  uint32_t index_size;
  std::memcpy(&index_size, data, 4);
  data += 4;
  size -= 4;
  if (index_size > size) index_size = static_cast<uint32_t>(size);
  fuzz::write_input("model.ckpt.index", data, index_size);
  fuzz::write_input("model.ckpt.data-00000-of-00001", data + index_size, size - index_size);
  const std::string prefix = (fuzz::fuzz_dir() / "model.ckpt").string();
  TENSORFERRY_FUZZ_BODY({
    auto reader = open_tf_bundle(prefix);
    fuzz::read_everything(*reader);
    // An object graph is also read for its variables' names (model conversions do).
    if (tf_bundle::is_object_based(*reader))
      fuzz::read_everything(*tf_bundle::read_by_variable_names(std::move(reader)));
  });
}
