#include "formats/safetensors/safetensors.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "formats/safetensors/header.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tf-safetensors-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static void write_file(const std::string& file, std::string_view bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  static std::string read_file(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  // u64 length + `json` + `data`: a file exactly as given, valid or not.
  std::string make_file(const std::string& name, std::string_view json, std::string_view data) {
    std::string bytes(8, '\0');
    store_le<uint64_t>(reinterpret_cast<std::byte*>(bytes.data()), json.size());
    bytes.append(json);
    bytes.append(data);
    const std::string p = path(name);
    write_file(p, bytes);
    return p;
  }

  // Expects opening `file` to fail with kBadInput naming it, at `offset` (when given), with
  // `fragment` in the message and `tensor` as the tensor.
  static void expect_bad(const std::string& file, const std::string& fragment,
                         std::optional<uint64_t> offset, const std::string& tensor = {}) {
    try {
      open_safetensors(file);
      ADD_FAILURE() << "opened without error; expected: " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
      EXPECT_EQ(e.file(), file);
      EXPECT_NE(e.message().find(fragment), std::string::npos) << e.what();
      EXPECT_TRUE(e.offset().has_value()) << e.what();
      if (offset) EXPECT_EQ(e.offset(), offset) << e.what();
      EXPECT_EQ(e.tensor(), tensor) << e.what();
    }
  }

  fs::path dir_;
};

std::span<const std::byte> bytes_of(const std::string& s) { return as_bytes(s); }

std::string entry(const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end) {
  return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

struct Written {
  TensorInfo info;
  std::string bytes;
};

std::vector<Written> sample_tensors() {
  std::vector<Written> out;
  auto add = [&](std::string name, DType dtype, Shape shape) {
    TensorInfo info{std::move(name), dtype, std::move(shape), 0};
    info.nbytes = *dense_byte_size(info.dtype, info.shape);
    std::string bytes(info.nbytes, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 37 + out.size());
    out.push_back({std::move(info), std::move(bytes)});
  };
  add("u8.odd", DType::kU8, {3});  // leaves the next tensor unaligned, on purpose
  add("layer.weight", DType::kF32, {2, 3});
  add("scalar", DType::kI64, {});
  add("empty", DType::kBF16, {0, 4});
  add("flags", DType::kBool, {5});
  add("f8", DType::kF8E4M3FN, {4});
  add("ünïcode \"name\"", DType::kU64, {1});
  add("c", DType::kC64, {2});
  return out;
}

void write_all(CheckpointWriter& writer, const std::vector<Written>& tensors) {
  std::vector<TensorInfo> infos;
  for (const auto& t : tensors) infos.push_back(t.info);
  writer.begin(infos);
  for (size_t i = 0; i < tensors.size(); ++i) writer.write(i, bytes_of(tensors[i].bytes));
  writer.commit();
}

TEST_F(Safetensors, RoundTripKeepsOrderBytesAndMetadata) {
  const auto tensors = sample_tensors();
  WriterOptions options;
  options.metadata = {{"source", "test"}};
  const std::string file = path("model.safetensors");
  write_all(*create_safetensors_writer(file, options), tensors);

  const std::string raw = read_file(file);
  const uint64_t json_size = load_le<uint64_t>(reinterpret_cast<const std::byte*>(raw.data()));
  EXPECT_EQ(json_size % 8, 0u);
  EXPECT_EQ(raw.substr(8, 30), "{\"__metadata__\":{\"format\":\"pt\"");

  auto reader = open_safetensors(file);
  EXPECT_EQ(reader->format(), "safetensors");
  EXPECT_EQ(reader->metadata(),
            (std::map<std::string, std::string>{{"format", "pt"}, {"source", "test"}}));
  const auto& entries = reader->tensors();
  ASSERT_EQ(entries.size(), tensors.size());
  std::vector<std::byte> scratch;
  uint64_t offset = 8 + json_size;
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].info.name);
    EXPECT_EQ(entries[i].name, tensors[i].info.name);
    EXPECT_EQ(entries[i].dtype, tensors[i].info.dtype);
    EXPECT_EQ(entries[i].shape, tensors[i].info.shape);
    EXPECT_EQ(entries[i].nbytes, tensors[i].info.nbytes);
    EXPECT_EQ(entries[i].offset, offset);
    EXPECT_EQ(entries[i].file, file);
    const auto data = reader->read(i, scratch);
    EXPECT_EQ(as_chars(data), tensors[i].bytes);
    EXPECT_TRUE(scratch.empty());                             // a view of the mapping, not a copy
    EXPECT_EQ(reader->read(i, scratch).data(), data.data());  // the same view each time
    reader->release(i);
    offset += tensors[i].info.nbytes;
  }
  EXPECT_EQ(offset, raw.size());
}

TEST_F(Safetensors, EncodesHeadersLikeTheReferenceSerializer) {
  // Byte-for-byte the outputs of huggingface/safetensors' own serializer tests
  // (test_serialization, test_empty).
  EXPECT_EQ(encode_safetensors_header({{"attn.0", DType::kF32, {1, 2, 3}, 24}}, {}),
            "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}");
  EXPECT_EQ(encode_safetensors_header({}, {}), "{}      ");
  EXPECT_EQ(encode_safetensors_header({}, {{"framework", "pt"}}),
            "{\"__metadata__\":{\"framework\":\"pt\"}}     ");
}

TEST_F(Safetensors, ShardedRoundTrip) {
  const auto tensors = sample_tensors();
  WriterOptions options;
  options.shard_size = 16;
  const std::string file = path("model.safetensors");
  write_all(*create_safetensors_writer(file, options), tensors);
  EXPECT_FALSE(fs::exists(file));
  ASSERT_TRUE(fs::exists(file + ".index.json"));
  const auto index = nlohmann::json::parse(read_file(file + ".index.json"));
  EXPECT_TRUE(index.contains("metadata"));
  EXPECT_EQ(index["weight_map"].size(), tensors.size());

  auto reader = open_safetensors(file + ".index.json");
  const auto& entries = reader->tensors();
  ASSERT_EQ(entries.size(), tensors.size());
  std::set<std::string> files;
  std::vector<std::byte> scratch;
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(entries[i].name, tensors[i].info.name);
    EXPECT_EQ(as_chars(reader->read(i, scratch)), tensors[i].bytes);
    files.insert(entries[i].file);
  }
  EXPECT_GT(files.size(), 2u);
  for (const auto& f : files) {
    EXPECT_NE(f.find("model-0000"), std::string::npos) << f;
    EXPECT_NO_THROW(open_safetensors(f));  // every shard is a valid file by itself
  }
}

TEST_F(Safetensors, ListsTensorsInDataOrderNotHeaderOrder) {
  const std::string json =
      "{\"z\":" + entry("F32", "[1]", 2, 6) + ",\"a\":" + entry("U8", "[2]", 0, 2) +
      ",\"e2\":" + entry("I32", "[0]", 6, 6) + ",\"e1\":" + entry("I32", "[2, 0]", 6, 6) + "}";
  auto reader = open_safetensors(make_file("x.safetensors", json, "abcdef"));
  std::vector<std::string> names;
  for (const auto& e : reader->tensors()) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "z", "e2", "e1"}));
  std::vector<std::byte> scratch;
  EXPECT_EQ(as_chars(reader->read(1, scratch)), "cdef");
  EXPECT_EQ(reader->read(3, scratch).size(), 0u);
}

TEST_F(Safetensors, AcceptsWhatTheReferenceAccepts) {
  // Whitespace around the object, null metadata, unknown fields, escapes, an empty file.
  const std::string json =
      " \n{\"__metadata__\":null,\"\\u0061\\ud83d\\ude00\":{\"x\":[1.5e3,{\"y\":null}],"
      "\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"z\":true}}\t\r\n   ";
  auto reader = open_safetensors(make_file("ok.safetensors", json, "xy"));
  ASSERT_EQ(reader->tensors().size(), 1u);
  EXPECT_EQ(reader->tensors()[0].name, "a\xF0\x9F\x98\x80");
  EXPECT_TRUE(reader->metadata().empty());
  EXPECT_TRUE(open_safetensors(make_file("empty.safetensors", "{}", ""))->tensors().empty());
  // 125 nested arrays inside the entry make 127 levels: serde_json's limit is 128.
  const std::string deep = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"d\":" +
                           std::string(125, '[') + std::string(125, ']') + "}}";
  EXPECT_NO_THROW(open_safetensors(make_file("deep.safetensors", deep, "xy")));
}

struct BadCase {
  const char* label;
  std::string json;
  std::string data;
  std::string fragment;
  std::string offset_of;  // the offset is 8 + json.find(offset_of) (+ offset_adjust)
  std::string tensor;
  uint64_t offset_adjust = 0;
};

TEST_F(Safetensors, EveryValidationFailureNamesFileOffsetAndTensor) {
  const std::string a = "\"a\":" + entry("U8", "[2]", 0, 2);
  const std::vector<BadCase> cases = {
      {"not an object", "[]", "", "must be a JSON object", "[", ""},
      {"empty JSON", "", "", "must be a JSON object", "", ""},
      {"truncated JSON", "{\"a\":", "", "must be a JSON object", "", "a", 5},
      {"trailing text", "{" + a + "}x", "ab", "unexpected bytes after", "}x", "", 1},
      {"trailing NUL padding", "{" + a + std::string("}\0", 2), "ab", "unexpected bytes after",
       std::string("}\0", 2), "", 1},
      {"trailing comma", "{" + a + ",}", "ab", "expected a string key", ",}", "", 1},
      {"entry not an object", "{\"a\":[]}", "", "must be a JSON object", "[]", "a"},
      {"no dtype", "{\"a\":{\"shape\":[2],\"data_offsets\":[0,2]}}", "ab", "no \"dtype\"", "\"a\"",
       "a"},
      {"no shape", "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,2]}}", "ab", "no \"shape\"",
       "\"a\"", "a"},
      {"no offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2]}}", "ab", "no \"data_offsets\"",
       "\"a\"", "a"},
      {"dtype not a string", "{\"a\":{\"dtype\":8,\"shape\":[2],\"data_offsets\":[0,2]}}", "ab",
       "\"dtype\" must be a string", "8", "a"},
      {"unknown dtype", "{\"a\":" + entry("F33", "[2]", 0, 2) + "}", "ab", "unknown dtype \"F33\"",
       "\"F33\"", "a"},
      {"lowercase dtype", "{\"a\":" + entry("u8", "[2]", 0, 2) + "}", "ab", "unknown dtype",
       "\"u8\"", "a"},
      {"shape not an array", "{\"a\":" + entry("U8", "2", 0, 2) + "}", "ab", "must be a JSON array",
       "2,", "a"},
      {"negative dimension", "{\"a\":" + entry("U8", "[-2]", 0, 2) + "}", "ab", "negative", "-2",
       "a"},
      {"fractional dimension", "{\"a\":" + entry("U8", "[2.0]", 0, 2) + "}", "ab",
       "must be an integer", "2.0", "a"},
      {"exponent dimension", "{\"a\":" + entry("U8", "[2e0]", 0, 2) + "}", "ab",
       "must be an integer", "2e0", "a"},
      {"leading zero", "{\"a\":" + entry("U8", "[02]", 0, 2) + "}", "ab", "leading zero", "02",
       "a"},
      {"dimension over 64 bits", "{\"a\":" + entry("U8", "[18446744073709551616]", 0, 2) + "}",
       "ab", "does not fit in 64 bits", "1844", "a"},
      {"three offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2,2]}}", "ab",
       "exactly 2 entries", ",2]", "a", 1},
      {"one offset", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2]}}", "ab",
       "exactly 2 entries", "[2]}", "a"},
      {"null offsets", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":null}}", "ab",
       "must be a JSON array", "null", "a"},
      {"duplicate field",
       "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]}}", "ab",
       "appears twice", "\"dtype\":\"I8", "a"},
      {"duplicate tensor", "{" + a + ",\"a\":" + entry("U8", "[2]", 0, 2) + "}", "ab",
       "appears twice", ",\"a\"", "a", 1},
      {"metadata value not a string", "{\"__metadata__\":{\"k\":1}," + a + "}", "ab",
       "must be a string", "1}", ""},
      {"metadata a list", "{\"__metadata__\":[]," + a + "}", "ab", "must be a JSON object", "[]",
       ""},
      {"metadata key twice", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," + a + "}", "ab",
       "appears twice", ",\"k\"", "", 1},
      {"metadata twice", "{\"__metadata__\":{},\"__metadata__\":{}," + a + "}", "ab",
       "appears twice", ",\"__", "", 1},
      {"metadata shaped like a tensor", "{\"__metadata__\":" + entry("U8", "[2]", 0, 2) + "}", "ab",
       "must be a string", "[2]", ""},
      {"overlap", "{\"a\":" + entry("U8", "[4]", 0, 4) + ",\"b\":" + entry("U8", "[4]", 2, 6) + "}",
       "abcdef", "overlap tensor 'a'", "[2,6]", "b"},
      {"gap", "{\"a\":" + entry("U8", "[2]", 0, 2) + ",\"b\":" + entry("F32", "[1]", 3, 7) + "}",
       "abcdefg", "leave a gap: bytes [2, 3)", "[3,7]", "b"},
      {"first tensor not at 0", "{\"a\":" + entry("U8", "[2]", 1, 3) + "}", "abc",
       "leave a gap: bytes [0, 1)", "[1,3]", "a"},
      {"size does not match shape", "{\"a\":" + entry("U8", "[2]", 0, 3) + "}", "abc", "needs 2",
       "[0,3]", "a"},
      {"size does not match dtype", "{\"a\":" + entry("F32", "[2]", 0, 4) + "}", "abcd", "needs 8",
       "[0,4]", "a"},
      {"offsets reversed", "{\"a\":" + entry("U8", "[0]", 2, 0) + "}", "ab",
       "end before they begin", "[2,0]", "a"},
      {"outside the buffer", "{\"a\":" + entry("U8", "[4]", 0, 4) + "}", "ab", "reach past the end",
       "[0,4]", "a"},
      {"byte count overflow", "{\"a\":" + entry("U8", "[4294967296,4294967296]", 0, 2) + "}", "ab",
       "overflows", "\"a\"", "a"},
      {"invalid UTF-8", "{\"\xff\":" + entry("U8", "[2]", 0, 2) + "}", "ab", "not valid UTF-8",
       "\xff", ""},
      {"overlong UTF-8", "{\"\xc0\xaf\":" + entry("U8", "[2]", 0, 2) + "}", "ab", "not valid UTF-8",
       "\xc0", ""},
      {"encoded surrogate", "{\"\xed\xa0\x80\":" + entry("U8", "[2]", 0, 2) + "}", "ab",
       "not valid UTF-8", "\xed", ""},
      {"raw control character", "{\"a\x01\":" + entry("U8", "[2]", 0, 2) + "}", "ab",
       "control character", "\x01", ""},
      {"lone surrogate escape", "{\"\\ud800\":" + entry("U8", "[2]", 0, 2) + "}", "ab", "surrogate",
       "\\ud800", ""},
      {"bad escape", "{\"\\x41\":" + entry("U8", "[2]", 0, 2) + "}", "ab", "invalid escape", "\\x",
       ""},
      {"unterminated string", "{\"abc", "", "unterminated string", "\"abc", ""},
      {"NaN in an unknown field",
       "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"q\":NaN}}", "ab",
       "unexpected character", "NaN", "a"},
      {"number out of range in an unknown field",
       "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"q\":1e400}}", "ab",
       "out of the range", "1e400", "a"},
      {"nested too deep",
       "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"d\":" +
           std::string(126, '[') + std::string(126, ']') + "}}",
       "ab", "deeper than 127", std::string(126, '['), "a", 125},
      {"byte order mark", "\xef\xbb\xbf{}", "", "must be a JSON object", "\xef", ""},
      {"rank over the limit",
       "{\"a\":{\"dtype\":\"U8\",\"shape\":[" +
           [] {
             std::string dims = "1";
             for (size_t i = 1; i <= kSafetensorsMaxRank; ++i) dims += ",1";
             return dims;
           }() +
           "],\"data_offsets\":[0,1]}}",
       "x", "more than 1024 dimensions", "[1,1", "a", 1 + 2 * kSafetensorsMaxRank},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    SCOPED_TRACE(c.label);
    const std::string file = make_file("bad" + std::to_string(i) + ".safetensors", c.json, c.data);
    const size_t at = c.json.find(c.offset_of);
    ASSERT_NE(at, std::string::npos);
    expect_bad(file, c.fragment, 8 + at + c.offset_adjust, c.tensor);
  }
}

TEST_F(Safetensors, BadLengthPrefixAndTrailingBytes) {
  const std::string short_file = path("short.safetensors");
  write_file(short_file, std::string(7, '\0'));
  expect_bad(short_file, "too short", 0);

  std::string huge(8, '\0');
  store_le<uint64_t>(reinterpret_cast<std::byte*>(huge.data()), kSafetensorsMaxHeaderSize + 1);
  write_file(path("huge.safetensors"), huge + "{}");
  expect_bad(path("huge.safetensors"), "exceeds the limit", 0);
  store_le<uint64_t>(reinterpret_cast<std::byte*>(huge.data()), ~uint64_t{0});
  write_file(path("max.safetensors"), huge + "{}");
  expect_bad(path("max.safetensors"), "exceeds the limit", 0);

  std::string past(8, '\0');
  store_le<uint64_t>(reinterpret_cast<std::byte*>(past.data()), 100);
  write_file(path("past.safetensors"), past + "{}");
  expect_bad(path("past.safetensors"), "runs past the end", 0);

  const std::string json = "{\"a\":" + entry("U8", "[2]", 0, 2) + "}";
  expect_bad(make_file("trailing.safetensors", json, "abXYZ"), "3 bytes after the last tensor",
             8 + json.size() + 2);
  expect_bad(make_file("data-without-tensors.safetensors", "{}", "x"), "1 bytes after", 10);
}

TEST_F(Safetensors, EveryTruncationIsABadInputError) {
  const std::string file = path("whole.safetensors");
  write_all(*create_safetensors_writer(file, {}), sample_tensors());
  const std::string raw = read_file(file);
  for (size_t size = 0; size < raw.size(); ++size) {
    SCOPED_TRACE(size);
    const std::string cut = path("cut.safetensors");
    write_file(cut, raw.substr(0, size));
    try {
      open_safetensors(cut);
      ADD_FAILURE() << "a file cut to " << size << " bytes opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
      EXPECT_EQ(e.file(), cut);
      EXPECT_TRUE(e.offset().has_value()) << e.what();
    }
  }
}

TEST_F(Safetensors, CorruptedBytesNeverCrash) {
  const std::string file = path("whole.safetensors");
  write_all(*create_safetensors_writer(file, {}), sample_tensors());
  const std::string raw = read_file(file);
  const uint64_t data_start = 8 + load_le<uint64_t>(reinterpret_cast<const std::byte*>(raw.data()));
  size_t opened = 0, refused = 0;
  for (size_t at = 0; at < data_start; ++at) {
    for (const char value : {'\0', '\xff', '"', '{', '[', ']', '9', ' ', '\\', ','}) {
      std::string bytes = raw;
      if (bytes[at] == value) continue;
      bytes[at] = value;
      const std::string mutated = path("mutated.safetensors");
      write_file(mutated, bytes);
      try {
        auto reader = open_safetensors(mutated);
        std::vector<std::byte> scratch;
        for (size_t i = 0; i < reader->tensors().size(); ++i) reader->read(i, scratch);
        ++opened;
      } catch (const Error& e) {
        ASSERT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
        ASSERT_EQ(e.file(), mutated);
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, opened);  // most single-byte changes break the header
}

TEST_F(Safetensors, DetectsSafetensorsFromTheirFirstBytes) {
  const std::string file = path("d.safetensors");
  write_all(*create_safetensors_writer(file, {}), sample_tensors());
  const std::string raw = read_file(file);
  const auto head = [&](const std::string& bytes) {
    return bytes_of(bytes).first(std::min<size_t>(64, bytes.size()));
  };
  EXPECT_TRUE(looks_like_safetensors(head(raw), raw.size()));
  EXPECT_FALSE(looks_like_safetensors(head(raw), raw.size() / 2));  // header longer than file
  std::string leading = raw;
  leading[8] = ' ';
  EXPECT_FALSE(looks_like_safetensors(head(leading), raw.size()));  // ' ' then '"'
  std::string not_json = raw;
  not_json[8] = '[';
  EXPECT_FALSE(looks_like_safetensors(head(not_json), raw.size()));
  EXPECT_FALSE(
      looks_like_safetensors(head(std::string("PK\x03\x04") + std::string(60, 'x')), 1000));
  EXPECT_FALSE(looks_like_safetensors(head(raw).first(8), raw.size()));

  std::string spaced(8, '\0');
  store_le<uint64_t>(reinterpret_cast<std::byte*>(spaced.data()), 8);
  spaced += "\n  {}   ";
  EXPECT_TRUE(looks_like_safetensors(head(spaced), spaced.size()));
  EXPECT_NO_THROW(open_safetensors(make_file("spaced.safetensors", "\n  {}   ", "")));
}

TEST_F(Safetensors, WriterRefusesWhatSafetensorsCannotHold) {
  const auto refuses = [&](const std::vector<TensorInfo>& infos, const std::string& fragment,
                           const std::string& tensor) {
    const std::string file = path("refused.safetensors");
    try {
      create_safetensors_writer(file, {})->begin(infos);
      ADD_FAILURE() << "begin() accepted: " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
      EXPECT_NE(e.message().find(fragment), std::string::npos) << e.what();
      EXPECT_EQ(e.tensor(), tensor) << e.what();
      EXPECT_EQ(e.file(), fs::absolute(file).lexically_normal().string());
    }
    EXPECT_FALSE(fs::exists(file));
  };
  refuses({{"ok", DType::kF32, {1}, 4}, {"words", DType::kString, {2}, 20}},
          "no dtype for string tensors", "words");
  refuses({{"z", DType::kC128, {1}, 16}}, "no dtype for c128", "z");
  refuses({{"x", DType::kF32, {2}, 4}}, "declared 4 bytes, but f32 [2] is 8 bytes", "x");
  refuses({{"x", DType::kU8, {1}, 1}, {"x", DType::kU8, {1}, 1}}, "two tensors have this name",
          "x");
  refuses({{"__metadata__", DType::kU8, {1}, 1}}, "reserved", "__metadata__");
  refuses({{"bad\xff", DType::kU8, {1}, 1}}, "not valid UTF-8", "bad\xff");
  refuses({{"big", DType::kU8, {1ull << 62, 8}, 0}}, "too large", "big");
}

TEST_F(Safetensors, WriterChecksEveryWriteAndLeavesNothingBehindOnFailure) {
  const std::string file = path("w.safetensors");
  const std::vector<TensorInfo> infos = {{"a", DType::kF32, {2}, 8}, {"b", DType::kU8, {3}, 3}};
  const std::string eight(8, 'x'), three(3, 'y');
  {
    auto writer = create_safetensors_writer(file, {});
    writer->begin(infos);
    try {
      writer->write(0, bytes_of(three));
      ADD_FAILURE() << "a short write was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_EQ(e.tensor(), "a");
      EXPECT_NE(e.message().find("got 3 bytes, declared 8"), std::string::npos) << e.what();
    }
    EXPECT_THROW(writer->write(1, bytes_of(three)), Error);  // out of order
    writer->write(0, bytes_of(eight));
    EXPECT_THROW(writer->commit(), Error);  // b is missing
  }
  EXPECT_TRUE(fs::is_empty(dir_)) << "the unfinished output or its temporary was left behind";

  {
    auto writer = create_safetensors_writer(file, {});
    writer->begin(infos);
    writer->write(0, bytes_of(eight));
    writer->write(1, bytes_of(three));
    writer->commit();
  }
  EXPECT_THROW(create_safetensors_writer(file, {})->begin(infos), Error);  // exists, no force
  WriterOptions force;
  force.force = true;
  write_all(*create_safetensors_writer(file, force), {{{"only", DType::kU8, {1}, 1}, "z"}});
  EXPECT_EQ(open_safetensors(file)->tensors().size(), 1u);
}

}  // namespace
}  // namespace tensorferry
