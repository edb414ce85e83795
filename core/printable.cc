#include "core/printable.h"

#include <algorithm>

namespace tensorferry {
namespace {

// Length of the UTF-8 sequence at `s[i]` and its code point; 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF are not).
size_t utf8_sequence(std::string_view s, size_t i, char32_t& code_point) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + length > s.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    const uint8_t b = byte(k);
    if (b < (k == 1 ? low : 0x80) || b > (k == 1 ? high : 0xBF)) return 0;
    code_point = (code_point << 6) | (b & 0x3F);
  }
  return length;
}

// Code points a terminal does not show as a glyph of their own: C1 controls (some terminals act
// on them) and format characters that reorder or hide the text around them.
bool invisible(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) || c == 0x061C || c == 0x180E || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF ||
         (c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xE0000 && c <= 0xE007F);
}

void append_hex(std::string& out, uint32_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 15];
}

void append_ascii(std::string& out, uint8_t b, bool quoted) {
  switch (b) {
    case '"':
    case '\\':
      if (quoted) out += '\\';
      out += static_cast<char>(b);
      return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default:
      if (b < 0x20 || b == 0x7F) {
        out += "\\x";
        append_hex(out, b, 2);
      } else {
        out += static_cast<char>(b);
      }
  }
}

// Appends the escaped form of `s` up to `max_bytes` of it (never splitting a character);
// returns the bytes consumed.
size_t append_escaped(std::string& out, std::string_view s, size_t max_bytes, bool quoted) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    char32_t code_point = 0;
    const size_t length = b < 0x80 ? 1 : utf8_sequence(s, i, code_point);
    if (i + std::max<size_t>(length, 1) > max_bytes) break;
    if (b < 0x80) {
      append_ascii(out, b, quoted);
    } else if (length == 0) {
      out += "\\x";
      append_hex(out, b, 2);
    } else if (invisible(code_point)) {
      out += "\\u{";
      append_hex(out, code_point, code_point > 0xFFFF ? 5 : 4);
      out += "}";
    } else {
      out.append(s.substr(i, length));
    }
    i += std::max<size_t>(length, 1);
  }
  return i;
}

}  // namespace

std::string printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_escaped(out, bytes, SIZE_MAX, false);
  return out;
}

std::string printable_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\n', start);
    append_escaped(out, text.substr(start, end - start), SIZE_MAX, false);
    if (end == std::string_view::npos) return out;
    out += '\n';
    start = end + 1;
  }
}

std::string quoted_printable(std::string_view bytes, size_t max_bytes) {
  std::string out = "\"";
  const size_t shown = append_escaped(out, bytes, max_bytes, true);
  out += "\"";
  if (shown < bytes.size()) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace tensorferry
