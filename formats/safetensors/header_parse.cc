// Reading the header the way huggingface/safetensors `SafeTensors::read_metadata` does, with
// messages that say where. Differences from the reference, each on the strict side: duplicate
// tensor names and duplicate __metadata__ keys are refused (serde keeps the last one silently),
// and a rank above kSafetensorsMaxRank is refused.
#include <algorithm>
#include <limits>
#include <unordered_set>

#include "core/bytes.h"
#include "core/error.h"
#include "core/limits.h"
#include "core/text_nesting.h"
#include "formats/safetensors/header.h"
#include "formats/safetensors/json_cursor.h"

namespace tensorferry {
namespace {

std::string offsets_text(const SafetensorsTensor& t) {
  return "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
}

// One `"name": {"dtype": ..., "shape": [...], "data_offsets": [b, e]}` entry. Unknown fields are
// skipped, as the reference does; repeated known fields are refused, as it does.
SafetensorsTensor parse_entry(JsonCursor& json, const std::string& name, uint64_t entry_offset) {
  SafetensorsTensor t;
  t.name = name;
  t.entry_offset = entry_offset;
  bool have_dtype = false, have_shape = false, have_offsets = false;
  const auto once = [&](bool& seen, const std::string& field, uint64_t field_offset) {
    if (seen) json.fail_at(field_offset, "field \"" + field + "\" appears twice", name);
    seen = true;
  };
  json.read_object("a tensor entry", name, [&](const std::string& field, uint64_t field_offset) {
    if (field == "dtype") {
      once(have_dtype, field, field_offset);
      if (json.peek() != '"') json.fail_here("\"dtype\" must be a string", name);
      const uint64_t at = json.offset();
      const std::string text = json.read_string(name);
      const auto dtype = dtype_from_safetensors(text);
      if (!dtype) json.fail_at(at, "unknown dtype \"" + text + "\"", name);
      t.dtype = *dtype;
    } else if (field == "shape") {
      once(have_shape, field, field_offset);
      json.read_array("\"shape\"", name, [&](size_t index) {
        if (index >= kSafetensorsMaxRank)
          json.fail_here(
              "\"shape\" has more than " + std::to_string(kSafetensorsMaxRank) + " dimensions",
              name);
        t.shape.push_back(json.read_uint64("a \"shape\" dimension", name));
      });
    } else if (field == "data_offsets") {
      once(have_offsets, field, field_offset);
      t.offsets_offset = json.offset();
      size_t count = 0;
      json.read_array("\"data_offsets\"", name, [&](size_t index) {
        if (index >= 2) json.fail_here("\"data_offsets\" must have exactly 2 entries", name);
        (index == 0 ? t.begin : t.end) = json.read_uint64("a data offset", name);
        count = index + 1;
      });
      if (count != 2)
        json.fail_at(t.offsets_offset, "\"data_offsets\" must have exactly 2 entries", name);
    } else {
      json.skip_value(name);
    }
  });
  if (!have_dtype) json.fail_at(entry_offset, "entry has no \"dtype\"", name);
  if (!have_shape) json.fail_at(entry_offset, "entry has no \"shape\"", name);
  if (!have_offsets) json.fail_at(entry_offset, "entry has no \"data_offsets\"", name);
  return t;
}

void parse_metadata(JsonCursor& json, std::map<std::string, std::string>& metadata) {
  if (json.read_null()) return;  // serde reads `null` as "no metadata"
  json.read_object("\"__metadata__\"", {}, [&](const std::string& key, uint64_t key_offset) {
    if (json.peek() != '"')
      json.fail_here("\"__metadata__\" value of \"" + key + "\" must be a string");
    if (!metadata.emplace(key, json.read_string()).second)
      json.fail_at(key_offset, "\"__metadata__\" key \"" + key + "\" appears twice");
  });
}

// The data buffer must be tiled exactly: sorted by offsets, each tensor starts where the previous
// one ended, its size is what dtype and shape say, and the last one ends at the end of the file.
void validate_layout(SafetensorsHeader& header, uint64_t file_size, const std::string& path) {
  auto& tensors = header.tensors;
  std::stable_sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t buffer_size = file_size - header.data_start;
  uint64_t expected = 0;
  const SafetensorsTensor* previous = nullptr;
  for (const auto& t : tensors) {
    const auto fail = [&](const std::string& message) {
      throw_bad_input(path, t.offsets_offset, "data_offsets " + offsets_text(t) + " " + message,
                      t.name);
    };
    if (t.end < t.begin) fail("end before they begin");
    if (t.begin < expected)
      fail("overlap tensor '" + previous->name + "' at " + offsets_text(*previous));
    if (t.begin > expected)
      fail("leave a gap: bytes [" + std::to_string(expected) + ", " + std::to_string(t.begin) +
           ") of the data buffer belong to no tensor");
    const auto nbytes = dense_byte_size(t.dtype, t.shape);
    if (!nbytes)
      throw_bad_input(path, t.entry_offset,
                      "shape " + shape_to_string(t.shape) + " overflows a 64-bit byte count",
                      t.name);
    if (*nbytes != t.end - t.begin)
      fail("span " + std::to_string(t.end - t.begin) + " bytes but " +
           std::string(dtype_info(t.dtype).safetensors) + " " + shape_to_string(t.shape) +
           " needs " + std::to_string(*nbytes));
    if (t.end > buffer_size)
      fail("reach past the end of the file: the data buffer (from byte " +
           std::to_string(header.data_start) + ") holds " + std::to_string(buffer_size) +
           " bytes (truncated?)");
    expected = t.end;
    previous = &t;
  }
  if (expected != buffer_size)
    throw_bad_input(path, header.data_start + expected,
                    std::to_string(buffer_size - expected) +
                        " bytes after the last tensor belong to no tensor (the data buffer must "
                        "be covered exactly)");
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file,
                                           const std::string& path) {
  if (file.size() < 8)
    throw_bad_input(path, 0,
                    "file is " + std::to_string(file.size()) +
                        " bytes, too short for the 8-byte header length (truncated?)");
  SafetensorsHeader header;
  header.json_size = load_le<uint64_t>(file.data());
  if (header.json_size > kSafetensorsMaxHeaderSize)
    throw_bad_input(path, 0,
                    "header length " + std::to_string(header.json_size) + " exceeds the limit of " +
                        std::to_string(kSafetensorsMaxHeaderSize) + " bytes");
  header.data_start = 8 + header.json_size;
  if (header.data_start > file.size())
    throw_bad_input(path, 0,
                    "header length " + std::to_string(header.json_size) +
                        " runs past the end of the file (" + std::to_string(file.size()) +
                        " bytes; truncated?)");

  const std::string_view text = as_chars(file.subspan(8, header.json_size));
  // The number of entries, counted before any is built (one may be __metadata__). Depth is left
  // to the cursor, which names the tensor whose entry nests too deep.
  const uint64_t members =
      check_nesting(text, kJsonNesting, path, 8, std::numeric_limits<int>::max());
  check_tensor_count(members > 0 ? members - 1 : 0, path, 8);
  JsonCursor json(text, path, 8);
  bool have_metadata = false;
  std::unordered_set<std::string> names;
  json.read_object("the header", {}, [&](const std::string& key, uint64_t key_offset) {
    if (key == "__metadata__") {
      if (have_metadata) json.fail_at(key_offset, "\"__metadata__\" appears twice");
      have_metadata = true;
      parse_metadata(json, header.metadata);
      return;
    }
    if (!names.insert(key).second) json.fail_at(key_offset, "tensor name appears twice", key);
    header.tensors.push_back(parse_entry(json, key, key_offset));
    check_tensor_metadata(key, header.tensors.back().shape, path, key_offset);
  });
  // Writers pad the JSON with spaces; anything else after it is an error.
  if (!json.at_end()) json.fail_here("unexpected bytes after the header's JSON object");
  validate_layout(header, file.size(), path);
  return header;
}

}  // namespace tensorferry
