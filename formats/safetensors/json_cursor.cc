#include "formats/safetensors/json_cursor.h"

#include <cmath>
#include <cstdlib>

#include "core/error.h"

namespace tensorferry {
namespace {

bool is_digit(int c) { return c >= '0' && c <= '9'; }

int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

}  // namespace

void JsonCursor::fail_at(uint64_t offset, const std::string& message,
                         const std::string& tensor) const {
  throw_bad_input(file_, offset, "header JSON: " + message, tensor);
}

int JsonCursor::peek() {
  // JSON whitespace is exactly these four bytes.
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++pos_;
  }
  return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : -1;
}

void JsonCursor::enter(std::string_view what, const std::string& tensor) {
  if (++depth_ > kMaxDepth)
    fail_here(std::string(what) + " nests arrays/objects deeper than " + std::to_string(kMaxDepth) +
                  " levels",
              tensor);
}

void JsonCursor::expect(char c, std::string_view context, const std::string& tensor) {
  if (peek() != static_cast<unsigned char>(c))
    fail_here(std::string("expected '") + c + "' in " + std::string(context), tensor);
  ++pos_;
}

unsigned JsonCursor::read_hex4(const std::string& tensor) {
  unsigned value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = pos_ < text_.size() ? hex_value(static_cast<unsigned char>(text_[pos_])) : -1;
    if (digit < 0) fail_here("\\u escape needs four hex digits", tensor);
    value = value * 16 + static_cast<unsigned>(digit);
    ++pos_;
  }
  return value;
}

void JsonCursor::read_escape(std::string& out, const std::string& tensor) {
  const uint64_t escape_offset = offset();
  ++pos_;  // the backslash
  if (pos_ >= text_.size()) fail_at(escape_offset, "unterminated escape", tensor);
  const char c = text_[pos_++];
  switch (c) {
    case '"': out += '"'; return;
    case '\\': out += '\\'; return;
    case '/': out += '/'; return;
    case 'b': out += '\b'; return;
    case 'f': out += '\f'; return;
    case 'n': out += '\n'; return;
    case 'r': out += '\r'; return;
    case 't': out += '\t'; return;
    case 'u': break;
    default: fail_at(escape_offset, std::string("invalid escape '\\") + c + "'", tensor);
  }
  uint32_t code_point = read_hex4(tensor);
  if (code_point >= 0xDC00 && code_point <= 0xDFFF)
    fail_at(escape_offset, "\\u escape is a lone low surrogate", tensor);
  if (code_point >= 0xD800 && code_point <= 0xDBFF) {
    // A high surrogate is only text together with the low surrogate escape that follows it.
    if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u')
      fail_at(escape_offset, "\\u escape is a high surrogate without its low surrogate", tensor);
    pos_ += 2;
    const uint32_t low = read_hex4(tensor);
    if (low < 0xDC00 || low > 0xDFFF)
      fail_at(escape_offset, "\\u escape is a high surrogate without its low surrogate", tensor);
    code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
  }
  append_utf8(out, code_point);
}

void JsonCursor::read_utf8_sequence(std::string& out, const std::string& tensor) {
  // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
  const uint64_t start = offset();
  const auto byte = [&](size_t i) -> unsigned {
    return pos_ + i < text_.size() ? static_cast<unsigned char>(text_[pos_ + i]) : 0;
  };
  const unsigned lead = byte(0);
  size_t length = 0;
  unsigned low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    fail_at(start, "string is not valid UTF-8", tensor);
  }
  if (byte(1) < low || byte(1) > high) fail_at(start, "string is not valid UTF-8", tensor);
  for (size_t i = 2; i < length; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) fail_at(start, "string is not valid UTF-8", tensor);
  out.append(text_.substr(pos_, length));
  pos_ += length;
}

std::string JsonCursor::read_string(const std::string& tensor) {
  if (peek() != '"') fail_here("expected a string", tensor);
  const uint64_t start = offset();
  ++pos_;
  std::string out;
  for (;;) {
    // Copy the run of bytes that need no attention in one go.
    size_t run = pos_;
    while (run < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[run]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++run;
    }
    out.append(text_.substr(pos_, run - pos_));
    pos_ = run;
    if (pos_ >= text_.size()) fail_at(start, "unterminated string", tensor);
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      ++pos_;
      return out;
    }
    if (c == '\\') {
      read_escape(out, tensor);
    } else if (c < 0x20) {
      fail_here("raw control character in a string (must be escaped)", tensor);
    } else {
      read_utf8_sequence(out, tensor);
    }
  }
}

uint64_t JsonCursor::read_uint64(std::string_view what, const std::string& tensor) {
  const int first = peek();
  const std::string name(what);
  if (first == '-') fail_here(name + " must not be negative", tensor);
  if (!is_digit(first)) fail_here(name + " must be an integer", tensor);
  const uint64_t start = offset();
  uint64_t value = 0;
  while (pos_ < text_.size() && is_digit(static_cast<unsigned char>(text_[pos_]))) {
    const auto digit = static_cast<uint64_t>(text_[pos_] - '0');
    if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, digit, &value))
      fail_at(start, name + " does not fit in 64 bits", tensor);
    ++pos_;
  }
  if (first == '0' && pos_ - (start - base_) > 1)
    fail_at(start, name + " has a leading zero, which JSON forbids", tensor);
  if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
    fail_at(start, name + " must be an integer (no fraction or exponent)", tensor);
  return value;
}

bool JsonCursor::read_null() {
  if (peek() != 'n') return false;
  skip_literal("null", {});
  return true;
}

void JsonCursor::skip_literal(std::string_view word, const std::string& tensor) {
  if (text_.substr(pos_, word.size()) != word) fail_here("invalid literal", tensor);
  pos_ += word.size();
}

void JsonCursor::skip_number(const std::string& tensor) {
  const size_t start = pos_;
  const auto at = [&](size_t i) -> int {
    return i < text_.size() ? static_cast<unsigned char>(text_[i]) : -1;
  };
  if (at(pos_) == '-') ++pos_;
  if (at(pos_) == '0') {
    ++pos_;
  } else if (is_digit(at(pos_))) {
    while (is_digit(at(pos_))) ++pos_;
  } else {
    fail_here("invalid number", tensor);
  }
  if (at(pos_) == '.') {
    ++pos_;
    if (!is_digit(at(pos_))) fail_here("invalid number: digits must follow '.'", tensor);
    while (is_digit(at(pos_))) ++pos_;
  }
  if (at(pos_) == 'e' || at(pos_) == 'E') {
    ++pos_;
    if (at(pos_) == '+' || at(pos_) == '-') ++pos_;
    if (!is_digit(at(pos_))) fail_here("invalid number: digits must follow the exponent", tensor);
    while (is_digit(at(pos_))) ++pos_;
  }
  // serde_json refuses numbers a double cannot hold (1e400), even in fields it ignores.
  const std::string token(text_.substr(start, pos_ - start));
  if (std::isinf(std::strtod(token.c_str(), nullptr)))
    fail_at(base_ + start, "number is out of the range of a double", tensor);
}

void JsonCursor::skip_value(const std::string& tensor) {
  switch (peek()) {
    case '{':
      read_object("a value", tensor, [&](const std::string&, uint64_t) { skip_value(tensor); });
      return;
    case '[': read_array("a value", tensor, [&](size_t) { skip_value(tensor); }); return;
    case '"': read_string(tensor); return;
    case 't': skip_literal("true", tensor); return;
    case 'f': skip_literal("false", tensor); return;
    case 'n': skip_literal("null", tensor); return;
    case -1: fail_here("unexpected end of the header", tensor);
    default:
      if (peek() == '-' || is_digit(peek())) return skip_number(tensor);
      fail_here("unexpected character", tensor);
  }
}

}  // namespace tensorferry
