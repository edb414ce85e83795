// The inert values a restricted unpickler builds: plain data (numbers, strings, containers) plus
// "opaque" objects that only the environment (torch_unpickler.h) knows how to interpret. Nothing
// here can run code; a value is a tagged number referring into side tables.
//
// Values live in one store and refer to each other by index, never by pointer: a hostile pickle
// can build cycles (a list appended to itself through the memo) and deep nesting, and neither may
// leak memory or overflow the C++ stack when the store is destroyed. Every value costs at most a
// few dozen bytes and the store refuses to grow beyond its limit, so the memory a pickle can
// claim is bounded before anything is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tensorferry {

enum class ValueKind : uint8_t {
  kNone,
  kBool,
  kInt,     // fits int64
  kBigInt,  // wider: text() holds the little-endian two's complement bytes, minimal length
  kFloat,
  kString,  // valid UTF-8
  kBytes,
  kTuple,  // immutable
  kList,
  kDict,  // items() alternate key, value, in insertion order
  kSet,
  kOpaque,  // made by the environment: opaque_tag() says what, opaque_index() which
};

std::string_view value_kind_name(ValueKind kind);

using ValueId = uint32_t;

// Bounds on what one unpickling may build; every one is checked before the memory is taken.
// Worst case with the defaults: ~64 MiB of values, 64 MiB of container items, 256 MiB of text,
// 32 MiB of stack and memo.
struct PickleLimits {
  uint64_t max_values = 1u << 22;        // objects built (16 bytes each, + 24 per container)
  uint64_t max_items = 1u << 24;         // references held by all containers together
  uint64_t max_total_text = 256u << 20;  // bytes of all strings, bytes and big ints together
  uint64_t max_stack = 1u << 22;         // values on the stack at once
  uint64_t max_marks = 1u << 16;         // open MARKs (nesting of tuple/list/dict literals)
  uint64_t max_memo = 1u << 22;          // memo entries
  uint64_t max_text_bytes = 64u << 20;   // one string, bytes object or text line
  uint64_t max_int_bytes = 64;           // LONG1/LONG4 integers wider than this are refused
};

class ValueStore {
 public:
  explicit ValueStore(const PickleLimits& limits) : limits_(limits) {}

  ValueId make_none() { return add(ValueKind::kNone, 0, 0); }
  ValueId make_bool(bool b) { return add(ValueKind::kBool, 0, b ? 1 : 0); }
  ValueId make_int(int64_t v) { return add(ValueKind::kInt, 0, v); }
  ValueId make_float(double v);
  // kString (caller checked UTF-8), kBytes or kBigInt.
  ValueId make_text(ValueKind kind, std::string text);
  // kTuple, kList, kDict or kSet.
  ValueId make_container(ValueKind kind, std::vector<ValueId> items);
  ValueId make_opaque(uint32_t tag, uint64_t index) {
    return add(ValueKind::kOpaque, tag, static_cast<int64_t>(index));
  }

  uint64_t size() const { return values_.size(); }
  ValueKind kind(ValueId id) const { return values_.at(id).kind; }
  bool as_bool(ValueId id) const { return values_.at(id).payload != 0; }
  int64_t as_int(ValueId id) const { return values_.at(id).payload; }
  double as_float(ValueId id) const;
  const std::string& text(ValueId id) const;
  const std::vector<ValueId>& items(ValueId id) const;
  // Appends to a list, dict or set (APPEND, SETITEM, ADDITEMS, ...).
  void append_items(ValueId id, const std::vector<ValueId>& items);
  uint32_t opaque_tag(ValueId id) const { return values_.at(id).tag; }
  uint64_t opaque_index(ValueId id) const { return static_cast<uint64_t>(values_.at(id).payload); }

  bool is_text(ValueId id, std::string_view s) const {
    return kind(id) == ValueKind::kString && text(id) == s;
  }
  bool is_container(ValueId id) const;

 private:
  struct Value {
    ValueKind kind;
    uint32_t tag;
    int64_t payload;  // the number, or the index into texts_ / containers_
  };
  ValueId add(ValueKind kind, uint32_t tag, int64_t payload);
  void count_items(uint64_t n);

  PickleLimits limits_;
  uint64_t item_count_ = 0;
  uint64_t text_bytes_ = 0;
  std::vector<Value> values_;
  std::vector<std::string> texts_;
  std::vector<std::vector<ValueId>> containers_;
};

// True when `text` is UTF-8 as Python's decoder with errors="surrogatepass" accepts it (what
// pickle uses for BINUNICODE): well-formed sequences, shortest form, at most U+10FFFF; encoded
// surrogates are allowed.
bool is_valid_utf8(std::string_view text);

}  // namespace tensorferry
