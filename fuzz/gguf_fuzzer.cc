// A GGUF file: the reader (header, metadata and inspect's escaped text of it, tensor records,
// every tensor read and dequantized), then, for a file that gets that far, gguf -> hf-pytorch
// (config.json from the metadata, rope_scaling from rope_freqs.weight, the tokenizer files, every
// tensor with its inverse layout).
#include "convert/gguf_import.h"
#include "formats/gguf/gguf.h"
#include "formats/gguf/gguf_reader.h"
#include "formats/gguf/gguf_text.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  const std::string path = fuzz::write_input("input.gguf", data, size);
  TENSORFERRY_FUZZ_BODY({
    auto reader = open_gguf(path);
    reader->metadata();
    gguf_metadata_text(dynamic_cast<GgufReader&>(*reader).header());  // inspect's text
    fuzz::read_everything(*reader);
    GgufImportOptions options;
    options.force = true;
    import_gguf(path, (fuzz::fuzz_dir() / "hf").string(), options);
  });
}
