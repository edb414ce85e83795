// Writing the header as safetensors' own serializer does: compact JSON, "__metadata__" first,
// then the tensors, padded with spaces so that the data buffer starts at a multiple of 8.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/safetensors/header.h"

namespace tensorferry {
namespace {

// A JSON string literal; names that are not valid UTF-8 cannot be stored in a JSON header.
std::string quote(const std::string& text, const std::string& tensor, const char* what) {
  try {
    return nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(ErrorKind::kUsage,
                std::string(what) + " is not valid UTF-8, which a safetensors header cannot hold",
                {}, tensor);
  }
}

}  // namespace

std::string encode_safetensors_header(
    const std::vector<TensorInfo>& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      if (i) json += ',';
      json += quote(metadata[i].first, {}, "a metadata key");
      json += ':';
      json += quote(metadata[i].second, {}, "a metadata value");
    }
    json += '}';
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (json.size() > 1) json += ',';
    json += quote(t.name, t.name, "the tensor name");
    json += ":{\"dtype\":\"";
    json += dtype_info(t.dtype).safetensors;
    json += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d) json += ',';
      json += std::to_string(t.shape[d]);
    }
    json += "],\"data_offsets\":[" + std::to_string(offset) + ",";
    offset += t.nbytes;
    json += std::to_string(offset) + "]}";
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  return json;
}

}  // namespace tensorferry
