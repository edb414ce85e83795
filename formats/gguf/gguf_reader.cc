#include "formats/gguf/gguf_reader.h"

#include <algorithm>

#include "convert/cast.h"
#include "core/error.h"
#include "formats/gguf/gguf.h"
#include "formats/gguf/gguf_quants.h"

namespace tensorferry {

GgufReader::GgufReader(const std::string& path, DType dequantized)
    : file_(MappedFile::open(path)), dequantized_(dequantized) {
  if (dequantized != DType::kF32 && dequantized != DType::kF16)
    throw_usage("GGUF tensors dequantize to f32 or f16, not " +
                std::string(dtype_name(dequantized)));
  header_ = parse_gguf_header(file_->bytes(), path);
  entries_.reserve(header_.tensors.size());
  for (const auto& t : header_.tensors) {
    const GgmlTypeInfo& info = ggml_type_info(t.type);
    TensorEntry e;
    e.name = t.name;
    e.shape.assign(t.ne.rbegin(), t.ne.rend());
    e.file = path;
    e.offset = header_.data_start + t.offset;
    if (info.dense) {
      e.dtype = *info.dense;
      e.nbytes = t.nbytes;
    } else {
      e.dtype = dequantized;
      e.nbytes = t.elements * dtype_size(dequantized);  // elements < 2^63, checked by the parser
      e.note = "stored as " + std::string(info.name) + " (" + std::to_string(t.nbytes) + " bytes)";
      e.note += can_dequantize(t.type)
                    ? ", read dequantized to " + std::string(dtype_name(dequantized))
                    : ", which tensorferry cannot dequantize";
    }
    entries_.push_back(std::move(e));
  }
}

std::span<const std::byte> GgufReader::read(size_t index, std::vector<std::byte>& scratch) {
  const GgufTensorRecord& t = header_.tensors.at(index);
  const TensorEntry& e = entries_.at(index);
  const auto stored = file_->slice(e.offset, t.nbytes, "tensor data", e.name);
  const GgmlTypeInfo& info = ggml_type_info(t.type);
  if (info.dense) return stored;
  if (!can_dequantize(t.type))
    throw_bad_input(path(), e.offset,
                    "GGUF: dequantizing " + std::string(info.name) +
                        " is not supported (q8_0, q4_0, q4_K and q6_K are)",
                    e.name);
  scratch.resize(e.nbytes);
  if (dequantized_ == DType::kF32) {
    dequantize(t.type, stored.data(), reinterpret_cast<float*>(scratch.data()), t.elements);
  } else {
    // Row by row through a small float buffer, so f16 output needs no tensor-sized f32 copy.
    const uint64_t row = t.ne.empty() ? 1 : t.ne[0];
    const uint64_t row_bytes = row / info.block_elements * info.block_bytes;
    std::vector<float> floats(row);
    for (uint64_t r = 0; r < t.elements / std::max<uint64_t>(row, 1); ++r) {
      dequantize(t.type, stored.data() + r * row_bytes, floats.data(), row);
      cast_elements(reinterpret_cast<const std::byte*>(floats.data()), DType::kF32,
                    scratch.data() + r * row * 2, DType::kF16, row);
    }
  }
  return scratch;
}

void GgufReader::release(size_t index) {
  const GgufTensorRecord& t = header_.tensors.at(index);
  file_->release(header_.data_start + t.offset, t.nbytes);
}

std::map<std::string, std::string> GgufReader::metadata() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : header_.metadata) out[key] = value.to_text();
  return out;
}

std::unique_ptr<CheckpointReader> open_gguf(const std::string& path) {
  return std::make_unique<GgufReader>(path);
}

}  // namespace tensorferry
