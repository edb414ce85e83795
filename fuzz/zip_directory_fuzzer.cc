// libFuzzer target: any bytes as a zip archive, through the directory reader alone (end records,
// ZIP64, central and local headers, data descriptors, overlap checks), then the CRC check of each
// stored entry. Everything accepted must lie inside the file.
#include <cstdlib>

#include "formats/torch/zip_directory.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("input.zip", data, size);
  TENSORFERRY_FUZZ_BODY({
    const auto file = MappedFile::open(path);
    const ZipDirectory directory = ZipDirectory::read(*file);
    for (const ZipEntry& entry : directory.entries()) {
      if (entry.data_offset > size || entry.size > size - entry.data_offset) std::abort();
      if (directory.find(entry.name) == nullptr) std::abort();
      if (entry.method == 0) {
        try {
          verify_zip_crc(*file, entry);
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::kBadInput) std::abort();
        }
      }
    }
  });
}
