// libFuzzer target: any bytes as a whole safetensors file. The header parser must either accept
// them or throw Error(kBadInput); it must never crash, hang or read outside the buffer.
// Build: cmake -DTENSORFERRY_FUZZ=ON -DTENSORFERRY_SANITIZE=ON -DCMAKE_CXX_COMPILER=clang++
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/error.h"
#include "formats/safetensors/header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto header = tensorferry::parse_safetensors_header(file, "fuzz.safetensors");
    // Everything accepted must lie inside the buffer.
    for (const auto& t : header.tensors)
      if (header.data_start + t.end > size) std::abort();
  } catch (const tensorferry::Error& e) {
    if (e.kind() != tensorferry::ErrorKind::kBadInput || !e.offset()) std::abort();
  }
  return 0;
}
