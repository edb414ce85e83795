#include "models/gguf/gguf_arch.h"

#include <charconv>
#include <string>

#include "core/error.h"

namespace tensorferry {

const GgufArchitecture* gguf_gpt2_architecture();
const GgufArchitecture* gguf_llama_architecture();

const GgufArchitecture* gguf_architecture(std::string_view family) {
  for (const GgufArchitecture* arch : {gguf_gpt2_architecture(), gguf_llama_architecture()})
    if (arch->family() == family) return arch;
  return nullptr;
}

const GgufArchitecture* gguf_architecture_reading(std::string_view arch) {
  for (const GgufArchitecture* a : {gguf_gpt2_architecture(), gguf_llama_architecture()})
    if (a->reads_arch(arch)) return a;
  return nullptr;
}

bool gguf_has(const GgufMetadata& metadata, const std::string& key) {
  return find_value(metadata, key) != nullptr;
}

uint64_t gguf_uint(const GgufMetadata& metadata, const std::string& key) {
  const GgufValue* v = find_value(metadata, key);
  if (!v || !v->is_integer() || v->as_signed() < 0)
    throw_bad_input("", std::nullopt,
                    "GGUF metadata " + key + (v ? " is not a count" : " is missing"));
  return v->integer;
}

nlohmann::json gguf_float(const GgufMetadata& metadata, const std::string& key) {
  const GgufValue* v = find_value(metadata, key);
  if (!v || (v->type != GgufValueType::kF32 && v->type != GgufValueType::kF64))
    throw_bad_input("", std::nullopt,
                    "GGUF metadata " + key + (v ? " is not a float" : " is missing"));
  if (v->type == GgufValueType::kF64) return v->real;
  return shortest_float(static_cast<float>(v->real));
}

nlohmann::json shortest_float(float value) {
  char text[32];
  const auto r = std::to_chars(text, text + sizeof text, value);
  return std::stod(std::string(text, r.ptr));
}

}  // namespace tensorferry
