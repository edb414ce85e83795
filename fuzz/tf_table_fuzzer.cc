// libFuzzer target: any bytes as a TensorFlow bundle .index, through the LevelDB table reader
// alone (footer, block handles, checksums, prefix-compressed entries, restart arrays, key order).
// Every value handed out must lie inside the file.
#include <cstdlib>

#include "formats/tf_bundle/table_reader.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("input.index", data, size);
  TENSORFERRY_FUZZ_BODY({
    const auto file = MappedFile::open(path);
    const auto entries = tf_bundle::read_table(*file);
    const std::byte* begin = file->bytes().data();
    for (size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      if (e.value.data() < begin || e.value.data() + e.value.size() > begin + size) std::abort();
      if (i > 0 && !(entries[i - 1].key < e.key)) std::abort();  // the reader promises key order
    }
  });
}
