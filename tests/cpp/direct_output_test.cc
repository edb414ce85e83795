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

INSTANTIATE_TEST_SUITE_P(DirectAndBuffered, DirectOutput, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Direct" : "Buffered"; });

}  // namespace
}  // namespace tensorferry
