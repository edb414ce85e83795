#include "formats/gguf/gguf_text.h"

#include <algorithm>

#include "core/printable.h"

namespace tensorferry {
namespace {

constexpr size_t kMaxStringBytes = 200;  // of a string value shown on its own line
constexpr size_t kMaxKeyColumn = 48;     // longer keys overflow rather than widen every line

std::string type_text(const GgufValue& value) {
  if (value.type != GgufValueType::kArray) return std::string(gguf_value_type_name(value.type));
  return "[" + std::string(gguf_value_type_name(value.element_type)) + "]";
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::string gguf_metadata_text(const GgufHeader& header) {
  size_t key_width = 3;
  for (const auto& [key, value] : header.metadata)
    key_width = std::max(key_width, printable(key).size());
  key_width = std::min(key_width, kMaxKeyColumn);
  size_t type_width = 4;
  for (const auto& [key, value] : header.metadata)
    type_width = std::max(type_width, type_text(value).size());

  std::string out = "GGUF version " + std::to_string(header.version) + ", alignment " +
                    std::to_string(header.alignment) + ", " +
                    std::to_string(header.metadata.size()) + " metadata entries:\n";
  out += "  " + pad("key", key_width) + "  " + pad("type", type_width) + "  value\n";
  for (const auto& [key, value] : header.metadata)
    out += "  " + pad(printable(key), key_width) + "  " + pad(type_text(value), type_width) + "  " +
           value.to_text(8, kMaxStringBytes) + "\n";
  return out;
}

}  // namespace tensorferry
