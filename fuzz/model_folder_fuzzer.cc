// libFuzzer target: a model folder whose files may be FIFOs, links leaving the folder or links
// within it, read through every route that finds files by name in a folder: checkpoint
// detection and opening (HF names, a shard index and its shards, the TF `checkpoint` state file),
// model detection (config files) and the vocabulary files a conversion carries. A FIFO that is
// opened blocks forever, which libFuzzer reports as a timeout.
//
// Input: byte 0 and 1 give each of the eight names below two bits: 0 absent, 1 a regular file
// holding the rest of the input, 2 a FIFO, 3 a symbolic link to a regular file with the rest of
// the input, outside the folder when bit 0 of byte 2 is set, else in a subfolder.
#include <sys/stat.h>
#include <unistd.h>

#include "convert/carried_file.h"
#include "convert/detect.h"
#include "core/input_file.h"
#include "formats/registry.h"
#include "fuzz/fuzz_input.h"

namespace {

constexpr const char* kNames[] = {"config.json",
                                  "model.safetensors",
                                  "model.safetensors.index.json",
                                  "model-00001-of-00001.safetensors",
                                  "checkpoint",
                                  "vocab.json",
                                  "merges.txt",
                                  "tokenizer.json"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  namespace fs = std::filesystem;
  if (size < 3) return 0;
  const uint16_t kinds = static_cast<uint16_t>(data[0] | (data[1] << 8));
  const bool outside = data[2] & 1;
  const fs::path root = fuzz::fuzz_dir();
  const fs::path folder = root / "model";
  fs::remove_all(folder);
  fs::create_directories(folder / "sub");
  const std::string content = fuzz::write_input("outside.txt", data + 3, size - 3);
  fs::copy_file(content, folder / "sub" / "target.txt");
  for (size_t i = 0; i < std::size(kNames); ++i) {
    const fs::path path = folder / kNames[i];
    switch ((kinds >> (2 * i)) & 3) {
      case 0: break;
      case 1: fs::copy_file(content, path); break;
      case 2: ::mkfifo(path.c_str(), 0600); break;
      case 3: fs::create_symlink(outside ? "../outside.txt" : "sub/target.txt", path); break;
    }
  }
  const std::string dir = folder.string();
  try {
    auto reader = open_checkpoint(dir);
    fuzz::read_everything(*reader);
  } catch (const Error&) {
  }
  try {
    (void)read_config_file(detect_model(dir).config_path);
  } catch (const Error&) {
  }
  TENSORFERRY_FUZZ_BODY({
    for (const char* name : kNames)
      if (auto path = find_in_folder(dir, name)) check_carried_file(*path);
  });
}
