#include "formats/torch/pickle_value.h"

#include <bit>

#include "core/error.h"

namespace tensorferry {

std::string_view value_kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNone: return "None";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt:
    case ValueKind::kBigInt: return "int";
    case ValueKind::kFloat: return "float";
    case ValueKind::kString: return "str";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kTuple: return "tuple";
    case ValueKind::kList: return "list";
    case ValueKind::kDict: return "dict";
    case ValueKind::kSet: return "set";
    case ValueKind::kOpaque: return "object";
  }
  return "?";
}

ValueId ValueStore::add(ValueKind kind, uint32_t tag, int64_t payload) {
  if (values_.size() >= limits_.max_values)
    throw Error(ErrorKind::kBadInput, "pickle builds more than " +
                                          std::to_string(limits_.max_values) +
                                          " objects (limit against memory exhaustion)");
  values_.push_back({kind, tag, payload});
  return static_cast<ValueId>(values_.size() - 1);
}

ValueId ValueStore::make_float(double v) {
  return add(ValueKind::kFloat, 0, std::bit_cast<int64_t>(v));
}

double ValueStore::as_float(ValueId id) const {
  return std::bit_cast<double>(values_.at(id).payload);
}

ValueId ValueStore::make_text(ValueKind kind, std::string text) {
  if (text.size() > limits_.max_total_text - text_bytes_)
    throw Error(ErrorKind::kBadInput, "pickle strings add up to more than " +
                                          std::to_string(limits_.max_total_text) +
                                          " bytes (limit against memory exhaustion)");
  text_bytes_ += text.size();
  const ValueId id = add(kind, 0, static_cast<int64_t>(texts_.size()));
  texts_.push_back(std::move(text));
  return id;
}

void ValueStore::count_items(uint64_t n) {
  if (n > limits_.max_items - item_count_)
    throw Error(ErrorKind::kBadInput, "pickle containers hold more than " +
                                          std::to_string(limits_.max_items) +
                                          " references (limit against memory exhaustion)");
  item_count_ += n;
}

ValueId ValueStore::make_container(ValueKind kind, std::vector<ValueId> items) {
  count_items(items.size());
  const ValueId id = add(kind, 0, static_cast<int64_t>(containers_.size()));
  containers_.push_back(std::move(items));
  return id;
}

const std::string& ValueStore::text(ValueId id) const {
  const Value& v = values_.at(id);
  if (v.kind != ValueKind::kString && v.kind != ValueKind::kBytes && v.kind != ValueKind::kBigInt)
    throw Error(ErrorKind::kBadInput,
                "expected a string, found " + std::string(value_kind_name(v.kind)));
  return texts_.at(static_cast<size_t>(v.payload));
}

bool ValueStore::is_container(ValueId id) const {
  const ValueKind k = kind(id);
  return k == ValueKind::kTuple || k == ValueKind::kList || k == ValueKind::kDict ||
         k == ValueKind::kSet;
}

const std::vector<ValueId>& ValueStore::items(ValueId id) const {
  if (!is_container(id))
    throw Error(ErrorKind::kBadInput,
                "expected a container, found " + std::string(value_kind_name(kind(id))));
  return containers_.at(static_cast<size_t>(values_[id].payload));
}

void ValueStore::append_items(ValueId id, const std::vector<ValueId>& items) {
  if (!is_container(id))
    throw Error(ErrorKind::kBadInput,
                "expected a container, found " + std::string(value_kind_name(kind(id))));
  count_items(items.size());
  auto& dest = containers_.at(static_cast<size_t>(values_[id].payload));
  dest.insert(dest.end(), items.begin(), items.end());
}

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t code;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    if ((extra == 2 && code < 0x800) || (extra == 3 && (code < 0x10000 || code > 0x10FFFF)))
      return false;
    p += extra + 1;
  }
  return true;
}

}  // namespace tensorferry
