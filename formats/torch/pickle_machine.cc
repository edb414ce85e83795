#include "formats/torch/pickle_machine.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

namespace tensorferry {
namespace {

// Opcode bytes, from CPython's Lib/pickle.py.
enum Op : uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kFloat = 'F',
  kInt = 'I',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kLong = 'L',
  kBinInt2 = 'M',
  kNone = 'N',
  kPersId = 'P',
  kBinPersId = 'Q',
  kReduce = 'R',
  kString = 'S',
  kBinString = 'T',
  kShortBinString = 'U',
  kUnicode = 'V',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kEmptyDict = '}',
  kAppends = 'e',
  kGet = 'g',
  kBinGet = 'h',
  kInst = 'i',
  kLongBinGet = 'j',
  kList = 'l',
  kEmptyList = ']',
  kObj = 'o',
  kPut = 'p',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kEmptyTuple = ')',
  kSetItems = 'u',
  kBinFloat = 'G',
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kProto = 0x80,
  kNewObj = 0x81,
  kExt1 = 0x82,
  kExt2 = 0x83,
  kExt4 = 0x84,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kEmptySet = 0x8f,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kNewObjEx = 0x92,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
  kByteArray8 = 0x96,
  kNextBuffer = 0x97,
  kReadonlyBuffer = 0x98,
};

std::string opcode_name(uint8_t op) {
  switch (op) {
    case kString: return "STRING";
    case kUnicode: return "UNICODE";
    case kInst: return "INST";
    case kObj: return "OBJ";
    case kExt1: return "EXT1";
    case kExt2: return "EXT2";
    case kExt4: return "EXT4";
    case kNextBuffer: return "NEXT_BUFFER";
    case kReadonlyBuffer: return "READONLY_BUFFER";
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", op);
  return hex;
}

class Machine {
 public:
  Machine(std::span<const std::byte> bytes, ValueStore& store, PickleEnvironment& env,
          const PickleLimits& limits)
      : bytes_(bytes), store_(store), env_(env), limits_(limits) {}

  PickleResult run(uint64_t* op_offset) {
    while (true) {
      *op_offset = op_start_ = pos_;
      const uint8_t op = static_cast<uint8_t>(*take(1));
      if (op == kStop) {
        if (stack_.size() != 1 || !marks_.empty())
          fail("STOP leaves " + std::to_string(stack_.size()) + " values and " +
               std::to_string(marks_.size()) + " marks on the stack instead of one value");
        return {stack_.back(), pos_};
      }
      step(op);
    }
  }

 private:
  [[noreturn]] static void fail(const std::string& message) {
    throw Error(ErrorKind::kBadInput, message);
  }

  const std::byte* take(uint64_t n) {
    if (n > bytes_.size() - pos_)
      fail("pickle is truncated: needs " + std::to_string(n) + " more bytes but " +
           std::to_string(bytes_.size() - pos_) + " remain");
    const std::byte* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <typename T>
  T take_le() {
    return load_le<T>(take(sizeof(T)));
  }
  uint64_t take_length(uint64_t n) {
    if (n > limits_.max_text_bytes)
      fail("string of " + std::to_string(n) + " bytes exceeds the limit of " +
           std::to_string(limits_.max_text_bytes));
    if (n > bytes_.size() - pos_)
      fail("string of " + std::to_string(n) + " bytes runs past the end of the pickle (" +
           std::to_string(bytes_.size() - pos_) + " bytes remain)");
    return n;
  }
  std::string take_text(uint64_t n) {
    take_length(n);
    const std::byte* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  // Text opcodes end their argument with '\n'.
  std::string take_line() {
    const uint64_t remaining = bytes_.size() - pos_;
    const uint64_t window = std::min<uint64_t>(remaining, limits_.max_text_bytes);
    const void* nl = std::memchr(bytes_.data() + pos_, '\n', window);
    if (!nl) fail("pickle text argument has no end of line");
    const uint64_t n = static_cast<const std::byte*>(nl) - (bytes_.data() + pos_);
    std::string line(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n + 1;
    return line;
  }

  void push(ValueId v) {
    if (stack_.size() >= limits_.max_stack)
      fail("pickle stack deeper than " + std::to_string(limits_.max_stack));
    stack_.push_back(v);
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  ValueId pop() {
    if (stack_.size() <= floor()) fail("pickle pops from an empty stack");
    const ValueId v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValueId top() const {
    if (stack_.size() <= floor()) fail("pickle reads the top of an empty stack");
    return stack_.back();
  }
  std::vector<ValueId> pop_mark() {
    if (marks_.empty()) fail("pickle uses a MARK that was never set");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValueId> items(stack_.begin() + static_cast<ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void push_int(int64_t v) { push(store_.make_int(v)); }
  void push_string(std::string text) {
    if (!is_valid_utf8(text)) fail("pickle string is not valid UTF-8");
    push(store_.make_text(ValueKind::kString, std::move(text)));
  }

  // Picklers number memo entries 0, 1, 2, ...; those live in a vector (4 bytes each), any other
  // key in a map. Both count against max_memo; the map, at ~50 bytes a node, also against
  // kMaxSparseMemo, which no pickler's output comes near (Python's never skips a number).
  static constexpr uint64_t kMaxSparseMemo = 1u << 16;
  void memo_put(uint64_t key) {
    const ValueId v = top();
    if (key < limits_.max_memo) {
      if (key >= memo_dense_.size()) memo_dense_.resize(key + 1, kNoValue);
      if (memo_dense_[key] == kNoValue) count_memo_entry();
      memo_dense_[key] = v;
      return;
    }
    auto [it, inserted] = memo_sparse_.emplace(key, v);
    if (inserted) {
      count_memo_entry();
      if (memo_sparse_.size() > kMaxSparseMemo)
        fail("pickle memo uses more than " + std::to_string(kMaxSparseMemo) +
             " out-of-sequence keys");
    } else {
      it->second = v;
    }
  }
  void count_memo_entry() {
    if (++memo_entries_ > limits_.max_memo)
      fail("pickle memo grows beyond " + std::to_string(limits_.max_memo) + " entries");
  }
  void memo_get(uint64_t key) {
    if (key < memo_dense_.size() && memo_dense_[key] != kNoValue) return push(memo_dense_[key]);
    auto it = memo_sparse_.find(key);
    if (it == memo_sparse_.end())
      fail("pickle reads memo entry " + std::to_string(key) + " never set");
    push(it->second);
  }

  static int64_t parse_decimal(const std::string& text, const char* what) {
    std::string_view s = text;
    if (!s.empty() && s.back() == 'L') s.remove_suffix(1);  // Python 2 long literal
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      fail(std::string(what) + " argument \"" + text.substr(0, 40) +
           "\" is not a 64-bit decimal integer");
    return v;
  }

  // LONG1/LONG4: little-endian two's complement of any width.
  void push_long(uint64_t n) {
    if (n > limits_.max_int_bytes)
      fail("integer of " + std::to_string(n) + " bytes is wider than the limit of " +
           std::to_string(limits_.max_int_bytes));
    const std::byte* p = take(n);
    std::string raw(reinterpret_cast<const char*>(p), n);
    // Drop sign-extension bytes so each value has one representation.
    while (raw.size() > 1) {
      const auto last = static_cast<uint8_t>(raw.back());
      const auto next = static_cast<uint8_t>(raw[raw.size() - 2]);
      if ((last == 0x00 && !(next & 0x80)) || (last == 0xFF && (next & 0x80)))
        raw.pop_back();
      else
        break;
    }
    if (raw.size() <= 8) {
      uint64_t u = 0;
      for (size_t i = 0; i < raw.size(); ++i)
        u |= static_cast<uint64_t>(static_cast<uint8_t>(raw[i])) << (8 * i);
      if (!raw.empty() && raw.size() < 8 && (static_cast<uint8_t>(raw.back()) & 0x80))
        u |= ~uint64_t{0} << (8 * raw.size());  // sign-extend
      push_int(static_cast<int64_t>(u));
    } else {
      push(store_.make_text(ValueKind::kBigInt, std::move(raw)));
    }
  }

  void global(const std::string& module, const std::string& name) {
    push(env_.find_global(store_, module, name));
  }

  void step(uint8_t op) {
    switch (op) {
      case kProto: {
        const auto version = static_cast<uint8_t>(*take(1));
        if (version > 5) fail("pickle protocol " + std::to_string(version) + " is newer than 5");
        return;
      }
      case kFrame: {
        const auto n = take_le<uint64_t>();
        if (n > bytes_.size() - pos_) fail("pickle frame runs past the end of the pickle");
        return;  // frames only group opcodes; their contents follow inline
      }
      case kMark:
        if (marks_.size() >= limits_.max_marks)
          fail("pickle opens more than " + std::to_string(limits_.max_marks) + " MARKs");
        marks_.push_back(stack_.size());
        return;
      case kPop:
        if (stack_.size() > floor())
          stack_.pop_back();
        else
          pop_mark();
        return;
      case kPopMark: pop_mark(); return;
      case kDup: push(top()); return;

      case kNone: push(store_.make_none()); return;
      case kNewTrue: push(store_.make_bool(true)); return;
      case kNewFalse: push(store_.make_bool(false)); return;
      case kInt: {
        const std::string line = take_line();
        if (line == "00")
          push(store_.make_bool(false));  // protocol 0/1 spelling of bools
        else if (line == "01")
          push(store_.make_bool(true));
        else
          push_int(parse_decimal(line, "INT"));
        return;
      }
      case kBinInt: push_int(take_le<int32_t>()); return;
      case kBinInt1: push_int(take_le<uint8_t>()); return;
      case kBinInt2: push_int(take_le<uint16_t>()); return;
      case kLong: push_int(parse_decimal(take_line(), "LONG")); return;
      case kLong1: push_long(take_le<uint8_t>()); return;
      case kLong4: {
        const auto n = take_le<int32_t>();
        if (n < 0) fail("LONG4 with a negative length");
        push_long(static_cast<uint64_t>(n));
        return;
      }
      case kFloat: {
        const std::string line = take_line();
        double v = 0;
        auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
        if (line.empty() || ec != std::errc() || end != line.data() + line.size())
          fail("FLOAT argument is not a number");
        push(store_.make_float(v));
        return;
      }
      case kBinFloat: {  // the only big-endian field in a pickle
        const std::byte* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(p[i]);
        push(store_.make_float(std::bit_cast<double>(bits)));
        return;
      }

      case kBinUnicode: push_string(take_text(take_le<uint32_t>())); return;
      case kShortBinUnicode: push_string(take_text(take_le<uint8_t>())); return;
      case kBinUnicode8: push_string(take_text(take_le<uint64_t>())); return;
      case kBinString: {  // Python 2 str; torch decodes them as UTF-8
        const auto n = take_le<int32_t>();
        if (n < 0) fail("BINSTRING with a negative length");
        push_string(take_text(static_cast<uint64_t>(n)));
        return;
      }
      case kShortBinString: push_string(take_text(take_le<uint8_t>())); return;
      case kBinBytes:
        push(store_.make_text(ValueKind::kBytes, take_text(take_le<uint32_t>())));
        return;
      case kShortBinBytes:
        push(store_.make_text(ValueKind::kBytes, take_text(take_le<uint8_t>())));
        return;
      case kBinBytes8:
      case kByteArray8:
        push(store_.make_text(ValueKind::kBytes, take_text(take_le<uint64_t>())));
        return;

      case kEmptyTuple: push(store_.make_container(ValueKind::kTuple, {})); return;
      case kTuple: push(store_.make_container(ValueKind::kTuple, pop_mark())); return;
      case kTuple1: {
        const ValueId a = pop();
        push(store_.make_container(ValueKind::kTuple, {a}));
        return;
      }
      case kTuple2: {
        const ValueId b = pop(), a = pop();
        push(store_.make_container(ValueKind::kTuple, {a, b}));
        return;
      }
      case kTuple3: {
        const ValueId c = pop(), b = pop(), a = pop();
        push(store_.make_container(ValueKind::kTuple, {a, b, c}));
        return;
      }
      case kEmptyList: push(store_.make_container(ValueKind::kList, {})); return;
      case kList: push(store_.make_container(ValueKind::kList, pop_mark())); return;
      case kAppend: {
        const ValueId v = pop();
        append_to(top(), {v}, ValueKind::kList, "APPEND");
        return;
      }
      case kAppends: {
        std::vector<ValueId> items = pop_mark();
        append_to(top(), items, ValueKind::kList, "APPENDS");
        return;
      }
      case kEmptyDict: push(store_.make_container(ValueKind::kDict, {})); return;
      case kDict: {
        std::vector<ValueId> items = pop_mark();
        if (items.size() % 2) fail("DICT with an odd number of keys and values");
        push(store_.make_container(ValueKind::kDict, std::move(items)));
        return;
      }
      case kSetItem: {
        const ValueId value = pop(), key = pop();
        append_to(top(), {key, value}, ValueKind::kDict, "SETITEM");
        return;
      }
      case kSetItems: {
        std::vector<ValueId> items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of keys and values");
        append_to(top(), items, ValueKind::kDict, "SETITEMS");
        return;
      }
      case kEmptySet: push(store_.make_container(ValueKind::kSet, {})); return;
      case kAddItems: {
        std::vector<ValueId> items = pop_mark();
        append_to(top(), items, ValueKind::kSet, "ADDITEMS");
        return;
      }
      case kFrozenSet: push(store_.make_container(ValueKind::kSet, pop_mark())); return;

      case kPut: memo_put(static_cast<uint64_t>(parse_decimal(take_line(), "PUT"))); return;
      case kBinPut: memo_put(take_le<uint8_t>()); return;
      case kLongBinPut: memo_put(take_le<uint32_t>()); return;
      case kMemoize: memo_put(memo_entries_); return;  // the next index, as Python does
      case kGet: memo_get(static_cast<uint64_t>(parse_decimal(take_line(), "GET"))); return;
      case kBinGet: memo_get(take_le<uint8_t>()); return;
      case kLongBinGet: memo_get(take_le<uint32_t>()); return;

      case kGlobal: {
        const std::string module = take_line();
        const std::string name = take_line();
        global(module, name);
        return;
      }
      case kStackGlobal: {
        const ValueId name = pop(), module = pop();
        if (store_.kind(name) != ValueKind::kString || store_.kind(module) != ValueKind::kString)
          fail("STACK_GLOBAL with a module or name that is not a string");
        global(store_.text(module), store_.text(name));
        return;
      }
      case kReduce: {
        const ValueId args = pop(), callable = pop();
        if (store_.kind(args) != ValueKind::kTuple) fail("REDUCE arguments are not a tuple");
        push(env_.call(store_, callable, args));
        return;
      }
      case kNewObj: {
        const ValueId args = pop(), cls = pop();
        if (store_.kind(args) != ValueKind::kTuple) fail("NEWOBJ arguments are not a tuple");
        push(env_.new_object(store_, cls, args));
        return;
      }
      case kNewObjEx: {
        const ValueId kwargs = pop(), args = pop(), cls = pop();
        if (store_.kind(args) != ValueKind::kTuple) fail("NEWOBJ_EX arguments are not a tuple");
        if (store_.kind(kwargs) != ValueKind::kDict || !store_.items(kwargs).empty())
          fail("NEWOBJ_EX with keyword arguments");
        push(env_.new_object(store_, cls, args));
        return;
      }
      case kBuild: {
        const ValueId state = pop();
        env_.build(store_, top(), state);
        return;
      }
      case kPersId:
        push(env_.persistent_load(store_, store_.make_text(ValueKind::kString, take_line()),
                                  op_start_));
        return;
      case kBinPersId: {
        const ValueId pid = pop();
        push(env_.persistent_load(store_, pid, op_start_));
        return;
      }

      case kInst: {  // names a class like GLOBAL does, then instantiates it
        const std::string module = take_line();
        const std::string name = take_line();
        fail("refusing global " + module + "." + name +
             " (INST opcode): a state dict never "
             "instantiates classes, and tensorferry never runs code from a pickle");
      }
      case kObj:
      case kExt1:
      case kExt2:
      case kExt4:
      case kNextBuffer:
      case kReadonlyBuffer:
        fail("refusing opcode " + opcode_name(op) +
             ": it builds arbitrary objects, which a "
             "state dict never needs");
      case kString:
      case kUnicode:
        fail("opcode " + opcode_name(op) + " (protocol 0 quoted strings) is not supported");
      default: fail("unknown pickle opcode " + opcode_name(op));
    }
  }

  void append_to(ValueId target, const std::vector<ValueId>& items, ValueKind expected,
                 const char* opcode) {
    if (store_.kind(target) != expected)
      fail(std::string(opcode) + " on a " + std::string(value_kind_name(store_.kind(target))) +
           ", not a " + std::string(value_kind_name(expected)));
    store_.append_items(target, items);
  }

  std::span<const std::byte> bytes_;
  uint64_t pos_ = 0;
  uint64_t op_start_ = 0;  // of the opcode being run
  ValueStore& store_;
  PickleEnvironment& env_;
  const PickleLimits& limits_;
  std::vector<ValueId> stack_;
  std::vector<size_t> marks_;
  static constexpr ValueId kNoValue = ~ValueId{0};
  std::vector<ValueId> memo_dense_;
  std::unordered_map<uint64_t, ValueId> memo_sparse_;
  uint64_t memo_entries_ = 0;
};

[[noreturn]] void refuse_global(const std::string& module, const std::string& name) {
  throw Error(ErrorKind::kBadInput,
              "refusing global " + module + "." + name +
                  ": only plain data is allowed here, and tensorferry never runs code from a "
                  "pickle");
}

}  // namespace

ValueId PlainDataEnvironment::find_global(ValueStore&, const std::string& module,
                                          const std::string& name) {
  refuse_global(module, name);
}
ValueId PlainDataEnvironment::call(ValueStore&, ValueId, ValueId) {
  throw Error(ErrorKind::kBadInput, "REDUCE in a pickle that may hold plain data only");
}
ValueId PlainDataEnvironment::new_object(ValueStore&, ValueId, ValueId) {
  throw Error(ErrorKind::kBadInput, "NEWOBJ in a pickle that may hold plain data only");
}
void PlainDataEnvironment::build(ValueStore&, ValueId, ValueId) {
  throw Error(ErrorKind::kBadInput, "BUILD in a pickle that may hold plain data only");
}
ValueId PlainDataEnvironment::persistent_load(ValueStore&, ValueId, uint64_t) {
  throw Error(ErrorKind::kBadInput, "persistent id in a pickle that may hold plain data only");
}

PickleResult run_pickle(std::span<const std::byte> bytes, ValueStore& store, PickleEnvironment& env,
                        const PickleLimits& limits, const std::string& file, uint64_t base_offset) {
  Machine machine(bytes, store, env, limits);
  uint64_t op_offset = 0;
  try {
    return machine.run(&op_offset);
  } catch (const Error& e) {
    throw e.with_context(file, {}, base_offset + op_offset);
  }
}

}  // namespace tensorferry
