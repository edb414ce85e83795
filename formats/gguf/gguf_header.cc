#include "formats/gguf/gguf_header.h"

#include <algorithm>
#include <set>

#include "core/bytes.h"
#include "core/error.h"

namespace tensorferry {
namespace {

// The smallest encodings, for bounding counts by the bytes left before reserving anything.
constexpr uint64_t kMinEntryBytes = 8 + 4 + 1;       // empty key, type, a one-byte value
constexpr uint64_t kMinTensorBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset

class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  T read(std::string_view what, const std::string& tensor = {}) {
    need(sizeof(T), what, tensor);
    const T v = load_le<T>(bytes_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(std::string_view what, const std::string& tensor = {}) {
    const uint64_t at = pos_;
    const auto length = read<uint64_t>(what, tensor);
    if (length > remaining())
      fail(at,
           std::string(what) + " claims " + std::to_string(length) + " bytes, only " +
               std::to_string(remaining()) + " remain in the file",
           tensor);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return s;
  }

  [[noreturn]] void fail(uint64_t at, const std::string& message,
                         const std::string& tensor = {}) const {
    throw_bad_input(path_, at, "GGUF: " + message, tensor);
  }

 private:
  void need(uint64_t n, std::string_view what, const std::string& tensor) const {
    if (n > remaining())
      fail(pos_,
           "the file ends inside " + std::string(what) + " (" + std::to_string(n) +
               " bytes needed, " + std::to_string(remaining()) + " left)",
           tensor);
  }

  std::span<const std::byte> bytes_;
  const std::string& path_;
  uint64_t pos_ = 0;
};

GgufValue read_scalar(Cursor& in, GgufValueType type, const std::string& key) {
  GgufValue v;
  v.type = type;
  const std::string what = "the value of " + key;
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8: v.integer = in.read<uint8_t>(what); break;
    case GgufValueType::kU16:
    case GgufValueType::kI16: v.integer = in.read<uint16_t>(what); break;
    case GgufValueType::kU32:
    case GgufValueType::kI32: v.integer = in.read<uint32_t>(what); break;
    case GgufValueType::kU64:
    case GgufValueType::kI64: v.integer = in.read<uint64_t>(what); break;
    case GgufValueType::kF32: v.real = in.read<float>(what); break;
    case GgufValueType::kF64: v.real = in.read<double>(what); break;
    case GgufValueType::kBool: {
      const uint64_t at = in.position();
      v.integer = in.read<uint8_t>(what);
      if (v.integer > 1)
        in.fail(at, "bool value of " + key + " is " + std::to_string(v.integer) + ", not 0 or 1");
      break;
    }
    case GgufValueType::kString: v.text = in.read_string(what); break;
    case GgufValueType::kArray: break;  // handled by the caller
  }
  return v;
}

GgufValueType read_value_type(Cursor& in, const std::string& key, bool element) {
  const uint64_t at = in.position();
  const auto raw = in.read<uint32_t>("the value type of " + key);
  if (raw >= kGgufValueTypeCount)
    in.fail(at, std::string(element ? "array element" : "value") + " type " + std::to_string(raw) +
                    " of " + key + " is not a GGUF type (0-12)");
  return static_cast<GgufValueType>(raw);
}

GgufValue read_value(Cursor& in, const std::string& key) {
  const GgufValueType type = read_value_type(in, key, false);
  if (type != GgufValueType::kArray) return read_scalar(in, type, key);
  const GgufValueType element = read_value_type(in, key, true);
  const uint64_t count_at = in.position();
  if (element == GgufValueType::kArray)
    in.fail(count_at - 4, "array " + key + " holds arrays; nested arrays are not supported");
  const auto count = in.read<uint64_t>("the element count of " + key);
  const uint64_t min_size = element == GgufValueType::kString ? 8 : gguf_scalar_size(element);
  const auto needed = checked_mul(count, min_size);
  if (!needed || *needed > in.remaining())
    in.fail(count_at, "array " + key + " claims " + std::to_string(count) + " " +
                          std::string(gguf_value_type_name(element)) +
                          " elements, more than the file holds");
  std::vector<GgufValue> elements;
  elements.reserve(count);
  for (uint64_t i = 0; i < count; ++i) elements.push_back(read_scalar(in, element, key));
  return GgufValue::of_array(element, std::move(elements));
}

// Returns where the value of general.alignment starts (0 when the key is absent).
uint64_t read_metadata(Cursor& in, uint64_t count, GgufHeader& header) {
  std::set<std::string> keys;
  uint64_t alignment_at = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t at = in.position();
    std::string key = in.read_string("metadata key #" + std::to_string(i));
    if (!keys.insert(key).second) in.fail(at, "metadata key " + key + " appears twice");
    if (key == "general.alignment") alignment_at = in.position();
    GgufValue value = read_value(in, key);
    header.metadata.emplace_back(std::move(key), std::move(value));
  }
  return alignment_at;
}

// `at`: where the entry's type field is.
uint32_t alignment_of(const GgufHeader& header, Cursor& in, uint64_t at) {
  const GgufValue* v = find_value(header.metadata, "general.alignment");
  if (!v) return kGgufDefaultAlignment;
  if (v->type != GgufValueType::kU32)
    in.fail(at,
            "general.alignment is a " + std::string(gguf_value_type_name(v->type)) + ", not a u32");
  const uint64_t a = v->integer;
  if (a == 0 || (a & (a - 1)) != 0)
    in.fail(at + 4, "general.alignment " + std::to_string(a) + " is not a power of two");
  return static_cast<uint32_t>(a);
}

GgufTensorRecord read_tensor_record(Cursor& in, uint64_t index) {
  GgufTensorRecord t;
  t.record_offset = in.position();
  t.name = in.read_string("the name of tensor #" + std::to_string(index));
  if (t.name.size() > kGgmlMaxNameBytes)
    in.fail(t.record_offset,
            "tensor name is " + std::to_string(t.name.size()) + " bytes; ggml allows at most " +
                std::to_string(kGgmlMaxNameBytes),
            t.name);
  const uint64_t dims_at = in.position();
  const auto n_dims = in.read<uint32_t>("n_dims", t.name);
  if (n_dims > kGgmlMaxDims)
    in.fail(
        dims_at,
        std::to_string(n_dims) + " dimensions; ggml allows at most " + std::to_string(kGgmlMaxDims),
        t.name);
  uint64_t elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t at = in.position();
    const auto ne = in.read<uint64_t>("a dimension", t.name);
    const auto product = checked_mul(elements, ne);
    // ggml holds counts as int64_t.
    if (ne > uint64_t{INT64_MAX} || !product || *product > uint64_t{INT64_MAX})
      in.fail(at, "dimension " + std::to_string(ne) + " makes the element count overflow", t.name);
    elements = *product;
    t.ne.push_back(ne);
  }
  t.elements = elements;
  const uint64_t type_at = in.position();
  const auto type_id = in.read<uint32_t>("the tensor type", t.name);
  const auto info = ggml_type_info(type_id);
  if (!info) in.fail(type_at, "unknown ggml type " + std::to_string(type_id), t.name);
  t.type = static_cast<GgmlType>(type_id);
  const uint64_t row = t.ne.empty() ? 1 : t.ne[0];
  const auto nbytes = ggml_byte_size(t.type, row, elements);
  if (!nbytes)
    in.fail(type_at,
            "a row of " + std::to_string(row) + " elements is not a whole number of " +
                std::string(info->name) + " blocks (" + std::to_string(info->block_elements) +
                " elements each)",
            t.name);
  t.nbytes = *nbytes;
  t.offset = in.read<uint64_t>("the data offset", t.name);
  return t;
}

// Offsets must be aligned, inside the file, and in file order without overlap (the order
// llama.cpp's loader requires too).
void check_tensor_data(const GgufHeader& header, uint64_t file_size, Cursor& in) {
  const uint64_t data_size = file_size - header.data_start;
  uint64_t previous_end = 0;
  for (const auto& t : header.tensors) {
    const uint64_t at = header.data_start + t.offset;
    if (t.offset % header.alignment != 0)
      in.fail(t.record_offset,
              "data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                  std::to_string(header.alignment),
              t.name);
    const auto end = checked_add(t.offset, t.nbytes);
    if (!end || *end > data_size)
      in.fail(t.record_offset,
              "data [" + std::to_string(at) + ", +" + std::to_string(t.nbytes) +
                  ") runs past the end of the file (" + std::to_string(file_size) + " bytes)",
              t.name);
    if (t.offset < previous_end)
      in.fail(t.record_offset,
              "data at " + std::to_string(at) + " overlaps the previous tensor's (which ends at " +
                  std::to_string(header.data_start + previous_end) + ")",
              t.name);
    previous_end = *end;
  }
}

}  // namespace

bool looks_like_gguf(std::span<const std::byte> first_bytes) {
  return first_bytes.size() >= 8 && load_le<uint32_t>(first_bytes.data()) == kGgufMagic;
}

GgufHeader parse_gguf_header(std::span<const std::byte> file, const std::string& path) {
  Cursor in(file, path);
  GgufHeader header;
  if (in.read<uint32_t>("the magic number") != kGgufMagic) in.fail(0, "no GGUF magic number");
  header.version = in.read<uint32_t>("the version");
  if (header.version != 2 && header.version != 3) {
    if (header.version == 1) in.fail(4, "version 1 (32-bit counts) is not supported");
    if ((header.version & 0xFFFF) == 0)
      in.fail(4, "big-endian GGUF (version " + std::to_string(__builtin_bswap32(header.version)) +
                     ") is not supported");
    in.fail(4, "unknown version " + std::to_string(header.version));
  }
  const auto tensor_count = in.read<uint64_t>("the tensor count");
  const auto kv_count = in.read<uint64_t>("the metadata count");
  const auto kv_bytes = checked_mul(kv_count, kMinEntryBytes);
  if (!kv_bytes || *kv_bytes > in.remaining())
    in.fail(16, "metadata count " + std::to_string(kv_count) + " is more than the file holds");
  const uint64_t alignment_at = read_metadata(in, kv_count, header);
  const auto tensor_bytes = checked_mul(tensor_count, kMinTensorBytes);
  if (!tensor_bytes || *tensor_bytes > in.remaining())
    in.fail(8, "tensor count " + std::to_string(tensor_count) + " is more than the file holds");
  header.alignment = alignment_of(header, in, alignment_at);
  std::set<std::string> names;
  header.tensors.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorRecord t = read_tensor_record(in, i);
    if (!names.insert(t.name).second) in.fail(t.record_offset, "tensor name appears twice", t.name);
    header.tensors.push_back(std::move(t));
  }
  const uint64_t end = in.position();
  const uint64_t padded = end + (header.alignment - end % header.alignment) % header.alignment;
  if (padded > file.size() && !header.tensors.empty())
    in.fail(end, "the file ends before the data section (at " + std::to_string(padded) + ")");
  header.data_start = std::min<uint64_t>(padded, file.size());
  check_tensor_data(header, file.size(), in);
  return header;
}

}  // namespace tensorferry
