#include "core/json_input.h"

#include "core/error.h"
#include "core/text_nesting.h"

namespace tensorferry {
namespace {

// nlohmann's `byte` counts the characters read, the last being the offending one.
std::optional<uint64_t> offset_of(const nlohmann::json::parse_error& e, uint64_t base_offset) {
  if (e.byte == 0) return std::nullopt;
  return base_offset + e.byte - 1;
}

}  // namespace

nlohmann::json parse_json_input(std::string_view text, const std::string& file,
                                uint64_t base_offset) {
  check_nesting(text, kJsonNesting, file, base_offset);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw_bad_input(file, offset_of(e, base_offset), std::string("not valid JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    // nlohmann reports a number beyond double's range (1e999) as out_of_range, not parse_error.
    throw_bad_input(file, std::nullopt, std::string("not valid JSON: ") + e.what());
  }
}

namespace {

// Accepts every value and keeps nothing: only the syntax is checked.
class SyntaxOnly final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error_at = position;
    message = e.what();
    return false;
  }
  std::optional<uint64_t> error_at;
  std::string message;
};

}  // namespace

void check_json_input(std::string_view text, const std::string& file) {
  check_nesting(text, kJsonNesting, file);
  SyntaxOnly sax;
  if (!nlohmann::json::sax_parse(text, &sax) || sax.error_at) {
    const std::optional<uint64_t> at = sax.error_at && *sax.error_at > 0
                                           ? std::optional<uint64_t>(*sax.error_at - 1)
                                           : std::nullopt;
    throw_bad_input(file, at, "not valid JSON: " + sax.message);
  }
}

}  // namespace tensorferry
