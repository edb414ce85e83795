// core/printable.h: every class of character a file could put in a name, as a terminal sees it.
#include "core/printable.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"

namespace tensorferry {
namespace {

TEST(Printable, KeepsPrintableUtf8AsItIs) {
  const std::string plain =
      "model.layers.0.self_attn.q_proj.weight héllo ✓ Ġthe 日本 \xf0\x9f\x98\x80";
  EXPECT_EQ(printable(plain), plain);
  EXPECT_EQ(printable("a\\x1b \"q\""), "a\\x1b \"q\"");  // backslash and quotes are printable
  EXPECT_EQ(printable(printable("a\x1b[2J\xff")), printable("a\x1b[2J\xff"));  // idempotent
}

TEST(Printable, EscapesC0ControlsAndDel) {
  EXPECT_EQ(printable("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(printable("\r\n\t"), "\\r\\n\\t");
  EXPECT_EQ(printable("x\by"), "x\\x08y");
  EXPECT_EQ(printable(std::string("n\0ul", 4)), "n\\x00ul");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
  EXPECT_EQ(printable("\x07\x1f"), "\\x07\\x1f");
}

TEST(Printable, EscapesC1ControlsAndInvisibleFormatCharacters) {
  EXPECT_EQ(printable("\xc2\x9b"
                      "2J"),
            "\\u{009b}2J");                       // CSI
  EXPECT_EQ(printable("\xc2\x85"), "\\u{0085}");  // NEL
  EXPECT_EQ(printable("abc\xe2\x80\xae"
                      "fdp.exe"),
            "abc\\u{202e}fdp.exe");                                          // RLO
  EXPECT_EQ(printable("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u{2066}x\\u{2069}");  // LRI, PDI
  EXPECT_EQ(printable("a\xe2\x80\x8b"
                      "b"),
            "a\\u{200b}b");                                // zero-width space
  EXPECT_EQ(printable("\xef\xbb\xbf"), "\\u{feff}");       // BOM
  EXPECT_EQ(printable("\xd8\x9c"), "\\u{061c}");           // Arabic letter mark
  EXPECT_EQ(printable("\xe2\x80\xa8"), "\\u{2028}");       // line separator
  EXPECT_EQ(printable("\xf3\xa0\x80\x81"), "\\u{e0001}");  // language tag
}

TEST(Printable, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("a\xff"
                      "b"),
            "a\\xffb");
  EXPECT_EQ(printable("\x9b"), "\\x9b");                             // a lone continuation byte
  EXPECT_EQ(printable("\xc3"), "\\xc3");                             // cut short
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(printable("\xed\xb3\xbf"), "\\xed\\xb3\\xbf");           // U+DCFF, a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(printable("k\x9b\xc2\x9b"), "k\\x9b\\u{009b}");
}

TEST(Printable, LinesKeepTheirBreaks) {
  EXPECT_EQ(printable_lines("one \x1b[31m\ntwo\r\n"), "one \\x1b[31m\ntwo\\r\n");
  EXPECT_EQ(printable_lines(""), "");
}

// inspect's GGUF strings are cut at a character boundary, never inside a UTF-8 sequence, and say
// their full length; escapes stay whole.
TEST(Printable, QuotedStringsAreCutBetweenCharacters) {
  EXPECT_EQ(quoted_printable("ab\xc3\xa9"
                             "cd",
                             3),
            "\"ab\"... (6 bytes)");
  EXPECT_EQ(quoted_printable("ab\xc3\xa9"
                             "cd",
                             4),
            "\"ab\xc3\xa9\"... (6 bytes)");
  EXPECT_EQ(quoted_printable("a\x1b", 1), "\"a\"... (2 bytes)");
  EXPECT_EQ(quoted_printable("a\x1b", 2), "\"a\\x1b\"");
  EXPECT_EQ(quoted_printable("\xe2\x80\xae\xf0\x9f\x98\x80"), "\"\\u{202e}\xf0\x9f\x98\x80\"");
  EXPECT_EQ(quoted_printable("say \"hi\" \\ bye"), "\"say \\\"hi\\\" \\\\ bye\"");
}

// Every error message names its tensor (and file) printably, whatever threw it.
TEST(Printable, ErrorMessagesShowTheTensorNameEscaped) {
  const Error e(ErrorKind::kBadInput, "bad shape", "m\x1b.safetensors", "w\x1b[2J\xe2\x80\xae", 8);
  EXPECT_STREQ(e.what(), "m\\x1b.safetensors: tensor 'w\\x1b[2J\\u{202e}': at byte 8: bad shape");
  EXPECT_EQ(e.tensor(), "w\x1b[2J\xe2\x80\xae");  // the name itself is kept for callers
}

}  // namespace
}  // namespace tensorferry
