// A strict, position-aware reader of JSON text (RFC 8259), for the safetensors header.
//
// A general JSON library builds a tree and forgets where each value came from; here every error
// must name the exact byte of the file, and duplicate keys must be caught rather than silently
// merged. The grammar is JSON's, with the limits of the reference reader (serde_json): at most
// 127 nested arrays/objects, strings are valid UTF-8 without raw control characters, escapes
// `\uD800`-`\uDFFF` only as proper surrogate pairs, and numbers outside the range of a double
// rejected even where they are ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tensorferry {

class JsonCursor {
 public:
  // `text` is a view of the file `file` starting at byte `file_offset`.
  JsonCursor(std::string_view text, const std::string& file, uint64_t file_offset)
      : text_(text), file_(file), base_(file_offset) {}

  // File offset of the next unread byte.
  uint64_t offset() const { return base_ + pos_; }
  // Skips whitespace; returns the next byte (0..255), or -1 at the end of the text.
  int peek();
  bool at_end() { return peek() < 0; }

  // Each read first skips whitespace. `tensor` is only named in error messages.
  std::string read_string(const std::string& tensor = {});
  // A non-negative integer without fraction or exponent that fits in 64 bits.
  uint64_t read_uint64(std::string_view what, const std::string& tensor = {});
  // Consumes `null` if it comes next.
  bool read_null();
  // Consumes any one value, validating it.
  void skip_value(const std::string& tensor = {});

  // `{ "key": value, ... }`: calls on_member(key, key_offset) with the cursor at each value,
  // which on_member must consume. `what` names the object in errors.
  template <typename OnMember>
  void read_object(std::string_view what, const std::string& tensor, OnMember&& on_member);
  // `[ value, ... ]`: calls on_element(index) with the cursor at each value.
  template <typename OnElement>
  void read_array(std::string_view what, const std::string& tensor, OnElement&& on_element);

  [[noreturn]] void fail_at(uint64_t offset, const std::string& message,
                            const std::string& tensor = {}) const;
  [[noreturn]] void fail_here(const std::string& message, const std::string& tensor = {}) {
    fail_at(offset(), message, tensor);
  }

  static constexpr int kMaxDepth = 127;

 private:
  void enter(std::string_view what, const std::string& tensor);
  void expect(char c, std::string_view context, const std::string& tensor);
  void read_escape(std::string& out, const std::string& tensor);
  void read_utf8_sequence(std::string& out, const std::string& tensor);
  void skip_number(const std::string& tensor);
  void skip_literal(std::string_view word, const std::string& tensor);
  unsigned read_hex4(const std::string& tensor);

  std::string_view text_;
  const std::string& file_;
  uint64_t base_;
  size_t pos_ = 0;
  int depth_ = 0;
};

template <typename OnMember>
void JsonCursor::read_object(std::string_view what, const std::string& tensor,
                             OnMember&& on_member) {
  if (peek() != '{') fail_here(std::string(what) + " must be a JSON object", tensor);
  enter(what, tensor);
  ++pos_;
  if (peek() == '}') {
    ++pos_;
    --depth_;
    return;
  }
  for (;;) {
    if (peek() != '"') fail_here("expected a string key in " + std::string(what), tensor);
    const uint64_t key_offset = offset();
    const std::string key = read_string(tensor);
    expect(':', what, tensor);
    on_member(key, key_offset);
    const int c = peek();
    if (c == ',') {
      ++pos_;
    } else if (c == '}') {
      ++pos_;
      break;
    } else {
      fail_here("expected ',' or '}' in " + std::string(what), tensor);
    }
  }
  --depth_;
}

template <typename OnElement>
void JsonCursor::read_array(std::string_view what, const std::string& tensor,
                            OnElement&& on_element) {
  if (peek() != '[') fail_here(std::string(what) + " must be a JSON array", tensor);
  enter(what, tensor);
  ++pos_;
  if (peek() == ']') {
    ++pos_;
    --depth_;
    return;
  }
  for (size_t index = 0;; ++index) {
    on_element(index);
    const int c = peek();
    if (c == ',') {
      ++pos_;
    } else if (c == ']') {
      ++pos_;
      break;
    } else {
      fail_here("expected ',' or ']' in " + std::string(what), tensor);
    }
  }
  --depth_;
}

}  // namespace tensorferry
