// DirectOutputFile: whatever mix of writes, zeros and in-place fills, and whether the filesystem
// takes O_DIRECT or the buffered fallback runs, the file holds exactly the bytes written, with
// the last partial block cut back to the length.
#include "core/direct_output.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "tests/cpp/resident.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

class DirectOutput : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tf-direct-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::byte> read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::vector<char> chars{std::istreambuf_iterator<char>(in), {}};
    std::vector<std::byte> bytes(chars.size());
    std::memcpy(bytes.data(), chars.data(), chars.size());
    return bytes;
  }

  fs::path dir_;
};

TEST_P(DirectOutput, FileHoldsExactlyTheBytesWritten) {
  const fs::path path = dir_ / "out.bin";
  std::mt19937 rng(7);
  std::vector<std::byte> expected;
  {
    DirectOutputFile file(path.string(), GetParam());
    if (!GetParam()) {
      EXPECT_FALSE(file.direct());
    }
    // Pieces that straddle the 8 MiB buffers and the 4 KiB blocks, in all three forms.
    const size_t sizes[] = {37, 4096, 5 << 20, 4 << 20, 1, 12345, 3 << 20, 9 << 20, 777};
    for (size_t i = 0; i < std::size(sizes); ++i) {
      std::vector<std::byte> piece(sizes[i]);
      for (auto& b : piece) b = static_cast<std::byte>(rng());
      if (i % 3 == 0) {
        file.write(piece);
      } else if (i % 3 == 1) {
        std::fill(piece.begin(), piece.end(), std::byte{0});
        file.write_zeros(piece.size());
      } else {
        for (size_t done = 0; done < piece.size();) {
          const auto room = file.space();
          ASSERT_FALSE(room.empty());
          const size_t n = std::min(room.size(), piece.size() - done);
          std::memcpy(room.data(), piece.data() + done, n);
          file.advance(n);
          done += n;
        }
      }
      expected.insert(expected.end(), piece.begin(), piece.end());
      EXPECT_EQ(file.position(), expected.size());
    }
    file.close();
    EXPECT_THROW(file.write(expected), Error);
  }
  EXPECT_EQ(fs::file_size(path), expected.size());
  EXPECT_TRUE(read_file(path) == expected);
}

TEST_P(DirectOutput, EmptyFileAndExistingPath) {
  const fs::path path = dir_ / "empty.bin";
  {
    DirectOutputFile file(path.string(), GetParam());
    file.close();
  }
  EXPECT_EQ(fs::file_size(path), 0u);
  try {
    DirectOutputFile again(path.string(), GetParam());
    FAIL() << "an existing file was opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_EQ(e.file(), path.string());
  }
}

// A writer abandoned midway (the conversion failed) stops its thread and leaves no crash behind.
TEST_P(DirectOutput, AbandonedWriterStops) {
  const fs::path path = dir_ / "abandoned.bin";
  DirectOutputFile file(path.string(), GetParam());
  std::vector<std::byte> piece(20 << 20, std::byte{1});
  file.write(piece);
}

// Writing a span of a mapped input leaves none of it mapped, small spans included: each touch
// maps the page-cache folio around it (a 2 MiB one with a single PMD after a sequential read),
// and small tensors beside released large ones once kept theirs, ~140 MB over a BERT-large
// conversion (docs/performance.md "Memory").
TEST_P(DirectOutput, WrittenSpansOfAMappedFileDoNotStayMapped) {
  const fs::path input = dir_ / "input.bin";
  constexpr size_t kRegion = 2 << 20;
  std::vector<std::byte> bytes(16 * kRegion);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 131 + (i >> 14));
  {
    std::ofstream out(input, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
  const auto file = MappedFile::open(input.string());
  const auto mapped = file->bytes();
  std::vector<std::byte> expected;
  {
    DirectOutputFile out((dir_ / "out.bin").string(), GetParam());
    // Biases of 5000 bytes across page boundaries, in no particular order, and large pieces
    // that start and end inside a region.
    for (size_t k : {3, 0, 9, 14, 6, 11, 1, 12, 7, 4}) {
      const auto piece = mapped.subspan(k * kRegion + 3000, 5000);
      expected.insert(expected.end(), piece.begin(), piece.end());  // before: it maps them
      out.write(piece);
    }
    for (size_t k : {2, 8}) {
      const auto piece = mapped.subspan(k * kRegion + 12345, 3 * kRegion);
      expected.insert(expected.end(), piece.begin(), piece.end());  // before: it maps them
      out.write(piece);
    }
    EXPECT_LT(mapped_resident_kib(mapped.data()), 16u) << "KiB of the input still mapped";
    out.close();
  }
  EXPECT_TRUE(read_file(dir_ / "out.bin") == expected);
}

INSTANTIATE_TEST_SUITE_P(DirectAndBuffered, DirectOutput, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Direct" : "Buffered"; });

}  // namespace
}  // namespace tensorferry
