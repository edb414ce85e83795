// GGUF: the writer's file read back, every header field of a hostile file refused with the byte
// offset of the field, and the block formats (q8_0 rounding, the dequantizers' layouts).
#include "formats/gguf/gguf.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "formats/gguf/gguf_quants.h"
#include "formats/gguf/gguf_reader.h"
#include "formats/gguf/gguf_writer.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

class Gguf : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tf-gguf-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static std::string read_file(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static void write_file(const std::string& file, const std::string& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // One metadata string and two f32 tensors "a" [2, 3] and "b" [4]; returns the file's bytes.
  std::string make_valid(const std::string& name) {
    GgufFileWriter w(path(name), false);
    w.add("general.architecture", GgufValue::of_string("llama"));
    w.begin({{"a", GgmlType::kF32, {2, 3}}, {"b", GgmlType::kF32, {4}}});
    std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {7, 8, 9, 10};
    w.write(0, std::as_bytes(std::span(a)));
    w.write(1, std::as_bytes(std::span(b)));
    w.commit();
    return read_file(path(name));
  }

  // Offsets in make_valid's file.
  static constexpr uint64_t kKvStart = 24;
  static constexpr uint64_t kFirstTensor = kKvStart + 8 + 20 + 4 + 8 + 5;  // key, type, "llama"

  void expect_bad(const std::string& bytes, const std::string& fragment,
                  std::optional<uint64_t> offset, const std::string& tensor = {}) {
    const std::string p = path("bad.gguf");
    write_file(p, bytes);
    try {
      GgufReader reader(p);
      std::vector<std::byte> scratch;
      for (size_t i = 0; i < reader.tensors().size(); ++i) reader.read(i, scratch);
      FAIL() << "accepted; expected: " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
      EXPECT_EQ(e.file(), p);
      EXPECT_NE(e.message().find(fragment), std::string::npos) << e.what();
      if (offset) {
        EXPECT_EQ(e.offset(), offset) << e.what();
      }
      EXPECT_EQ(e.tensor(), tensor) << e.what();
    }
  }

  static void put_u64(std::string& bytes, uint64_t at, uint64_t v) {
    std::memcpy(bytes.data() + at, &v, 8);
  }
  static void put_u32(std::string& bytes, uint64_t at, uint32_t v) {
    std::memcpy(bytes.data() + at, &v, 4);
  }

  fs::path dir_;
};

TEST_F(Gguf, WrittenFileReadsBack) {
  const std::string bytes = make_valid("m.gguf");
  GgufReader reader(path("m.gguf"));
  ASSERT_EQ(reader.tensors().size(), 2u);
  EXPECT_EQ(reader.tensors()[0].shape, (Shape{2, 3}));
  EXPECT_EQ(reader.tensors()[0].offset % 32, 0u);
  EXPECT_EQ(reader.tensors()[1].offset % 32, 0u);
  EXPECT_EQ(reader.metadata().at("general.architecture"), "\"llama\"");
  std::vector<std::byte> scratch;
  const auto b = reader.read(1, scratch);
  ASSERT_EQ(b.size(), 16u);
  EXPECT_EQ(load_le<float>(b.data() + 12), 10.0f);
  EXPECT_EQ(bytes.size() % 32, 0u);  // the last tensor is padded too, as gguf-py pads it
}

TEST_F(Gguf, HostileHeadersAreRefusedWithTheirOffset) {
  const std::string good = make_valid("m.gguf");
  std::string b = good;
  put_u32(b, 4, 1);
  expect_bad(b, "version 1", 4);
  b = good;
  put_u32(b, 4, 0x03000000);
  expect_bad(b, "big-endian", 4);
  b = good;
  put_u64(b, 8, uint64_t{1} << 60);
  expect_bad(b, "tensor count", 8);
  b = good;
  put_u64(b, 16, uint64_t{1} << 62);
  expect_bad(b, "metadata count", 16);
  b = good;
  put_u64(b, kKvStart, uint64_t{1} << 40);  // key length
  expect_bad(b, "claims 1099511627776 bytes", kKvStart);
  b = good;
  put_u32(b, kKvStart + 8 + 20, 13);  // value type
  expect_bad(b, "not a GGUF type", kKvStart + 28);
  b = good;
  put_u64(b, kKvStart + 32, uint64_t{1} << 50);  // the string value's length
  expect_bad(b, "claims", kKvStart + 32);
  // Tensor "a": name (8 + 1) | n_dims | ne[2] | type | offset.
  const uint64_t a = kFirstTensor;
  b = good;
  put_u32(b, a + 9, 5);
  expect_bad(b, "5 dimensions", a + 9, "a");
  b = good;
  put_u64(b, a + 13, uint64_t{1} << 62);
  put_u64(b, a + 21, 4);
  expect_bad(b, "overflow", a + 21, "a");
  b = good;
  put_u32(b, a + 29, 99);
  expect_bad(b, "unknown ggml type 99", a + 29, "a");
  b = good;
  put_u32(b, a + 29, 8);  // q8_0: a row of 3 is not a whole block
  expect_bad(b, "whole number of q8_0 blocks", a + 29, "a");
  b = good;
  put_u64(b, a + 33, 8);
  expect_bad(b, "not a multiple of the alignment", a, "a");
  b = good;
  put_u64(b, a + 33, 1 << 20);
  expect_bad(b, "runs past the end", a, "a");
  b = good;
  put_u64(b, a + 33, 32);  // "a" now overlaps "b" at 32
  expect_bad(b, "overlaps", a + 41, "b");
  b = good;
  b[a + 8] = 'b';  // two tensors named "b"
  expect_bad(b, "appears twice", a + 41, "b");
  expect_bad(good.substr(0, 40), "claims 20 bytes", 24);
  expect_bad(good.substr(0, good.size() - 40), "runs past the end", std::nullopt, "b");
}

TEST_F(Gguf, AlignmentMustBeAPowerOfTwo) {
  GgufFileWriter w(path("m.gguf"), false, 64);
  w.begin({{"a", GgmlType::kF32, {4}}});
  std::vector<float> a = {1, 2, 3, 4};
  w.write(0, std::as_bytes(std::span(a)));
  w.commit();
  std::string b = read_file(path("m.gguf"));
  GgufReader reader(path("m.gguf"));
  EXPECT_EQ(reader.header().alignment, 64u);
  EXPECT_EQ(reader.tensors()[0].offset % 64, 0u);
  const auto at = b.find("general.alignment") + 17 + 4;
  put_u32(b, at, 48);
  expect_bad(b, "not a power of two", at);
}

TEST_F(Gguf, WriterRefusesWhatGgmlCannotHold) {
  GgufFileWriter w(path("m.gguf"), false);
  EXPECT_THROW(w.begin({{std::string(64, 'x'), GgmlType::kF32, {1}}}), Error);
  GgufFileWriter w2(path("m2.gguf"), false);
  EXPECT_THROW(w2.begin({{"q", GgmlType::kQ8_0, {2, 20}}}), Error);
  EXPECT_FALSE(fs::exists(path("m.gguf")));
}

TEST(GgufQuants, Q8_0RoundsLikeGgml) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1
  x[1] = 2.5f;    // roundf: away from zero
  x[2] = -2.5f;
  x[3] = 0.49f;
  std::vector<std::byte> q(34);
  quantize_q8_0(x.data(), q.data(), 32);
  EXPECT_EQ(load_le<uint16_t>(q.data()), 0x3C00);  // f16 1.0
  EXPECT_EQ(static_cast<int8_t>(q[2]), 127);
  EXPECT_EQ(static_cast<int8_t>(q[3]), 3);
  EXPECT_EQ(static_cast<int8_t>(q[4]), -3);
  EXPECT_EQ(static_cast<int8_t>(q[5]), 0);
  std::vector<float> back(32);
  dequantize(GgmlType::kQ8_0, q.data(), back.data(), 32);
  EXPECT_EQ(back[1], 3.0f);
  std::vector<float> zeros(32, 0.0f);
  quantize_q8_0(zeros.data(), q.data(), 32);
  dequantize(GgmlType::kQ8_0, q.data(), back.data(), 32);
  EXPECT_EQ(back, zeros);
}

// The AVX2 path of quantize_q8_0 against ggml's scalar reference, block by block: ordinary
// values, ties (x * id exactly k + 0.5, both signs), zeros and -0, subnormal scales (whose
// inverse overflows), and blocks with a NaN or an infinity.
TEST(GgufQuants, Q8_0FastPathMatchesTheReference) {
  std::vector<float> x;
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state;
  };
  for (int block = 0; block < 4000; ++block) {
    const float scale = std::ldexp(1.0f, static_cast<int>(next() % 60) - 40);
    for (int j = 0; j < 32; ++j)
      x.push_back((static_cast<float>(next() % 20001) / 10000.0f - 1.0f) * scale);
  }
  for (int j = 0; j < 32; ++j) x.push_back(j == 0 ? 127.0f : (j % 2 ? 1 : -1) * (j + 0.5f));
  for (int j = 0; j < 32; ++j) x.push_back(j % 3 ? -0.0f : 0.0f);
  for (int j = 0; j < 32; ++j) x.push_back(std::ldexp(static_cast<float>(j), -140));
  for (const float odd : {NAN, INFINITY, -INFINITY})
    for (int j = 0; j < 32; ++j) x.push_back(j == 7 ? odd : static_cast<float>(j));
  std::vector<std::byte> fast(x.size() / 32 * 34), reference(fast.size());
  quantize_q8_0(x.data(), fast.data(), x.size());
  quantize_q8_0_reference(x.data(), reference.data(), x.size());
  for (size_t b = 0; b < x.size() / 32; ++b)
    ASSERT_EQ(std::memcmp(fast.data() + b * 34, reference.data() + b * 34, 34), 0) << "block " << b;
}

TEST(GgufQuants, Q4_0NibbleOrder) {
  std::vector<std::byte> block(18);
  store_le<uint16_t>(block.data(), 0x3C00);  // d = 1
  block[2] = std::byte{0xF0};                // element 0: 0 - 8, element 16: 15 - 8
  std::vector<float> out(32);
  dequantize(GgmlType::kQ4_0, block.data(), out.data(), 32);
  EXPECT_EQ(out[0], -8.0f);
  EXPECT_EQ(out[16], 7.0f);
  EXPECT_EQ(out[1], -8.0f);
}

}  // namespace
}  // namespace tensorferry
