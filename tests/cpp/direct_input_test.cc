// Streaming a file's bytes (MappedFile::stream, CheckpointReader::stream): pieces the page cache
// does not hold are read around it with O_DIRECT and stay out of it, pieces it holds come from the
// mapping, and either way the consumer sees exactly the range, in order, in bounded pieces; a
// file cut short while it is read is an error naming it, and the formats' checksums are checked
// over the pieces.
#include "core/direct_input.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/direct_output.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/registry.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

std::vector<std::byte> random_bytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> bytes(size);
  for (auto& b : bytes) b = static_cast<std::byte>(rng());
  return bytes;
}

// Drops the file's pages from the page cache (they are clean: written with O_DIRECT and synced).
void evict(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// Pages of the file in the page cache.
size_t cached_pages(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  const size_t size = fs::file_size(path);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  ::mincore(map, size, resident.data());
  ::munmap(map, size);
  size_t count = 0;
  for (unsigned char r : resident) count += r & 1;
  return count;
}

// Whether the filesystem under `dir` takes O_DIRECT reads (tmpfs does not).
bool takes_direct_reads(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_DIRECT);
  if (fd < 0) return false;
  void* buffer = std::aligned_alloc(kDirectAlignment, kDirectAlignment);
  const bool ok = ::pread(fd, buffer, kDirectAlignment, 0) >= 0;
  std::free(buffer);
  ::close(fd);
  return ok;
}

class DirectInput : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tf-direct-in-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file of `bytes` written around the page cache, then evicted from it.
  fs::path write_uncached(const std::string& name, const std::vector<std::byte>& bytes) {
    const fs::path path = dir_ / name;
    DirectOutputFile out(path.string());
    out.write(bytes);
    out.close();
    evict(path);
    return path;
  }

  static std::vector<std::byte> streamed(const MappedFile& file, uint64_t offset, uint64_t length,
                                         size_t* largest_piece = nullptr) {
    std::vector<std::byte> got;
    EXPECT_TRUE(file.stream(offset, length, "test range", "", [&](std::span<const std::byte> p) {
      got.insert(got.end(), p.begin(), p.end());
      if (largest_piece) *largest_piece = std::max(*largest_piece, p.size());
      return true;
    }));
    return got;
  }

  fs::path dir_;
};

TEST_F(DirectInput, StreamHandsOnExactlyTheRangeInBoundedPieces) {
  // Longer than two pieces (the prefetching path) and not a whole number of blocks.
  const auto bytes = random_bytes(2 * kStreamPiece + 3 * 4096 + 123, 1);
  const fs::path path = write_uncached("data.bin", bytes);
  const auto file = MappedFile::open(path.string());
  const struct {
    uint64_t offset, length;
  } ranges[] = {{0, bytes.size()},        {5, bytes.size() - 12},    {4097, 1},
                {kStreamPiece - 1, 2},    {bytes.size() - 100, 100}, {bytes.size(), 0},
                {3 * 4096, kStreamPiece}, {1, 2 * kStreamPiece + 77}};
  for (const auto& r : ranges) {
    evict(path);
    size_t largest = 0;
    const auto got = streamed(*file, r.offset, r.length, &largest);
    ASSERT_EQ(got.size(), r.length) << "offset " << r.offset;
    EXPECT_TRUE(std::equal(got.begin(), got.end(), bytes.begin() + r.offset))
        << "offset " << r.offset;
    EXPECT_LE(largest, kStreamPiece);
  }
}

TEST_F(DirectInput, UncachedPagesAreReadAroundThePageCacheCachedOnesFromIt) {
  const auto bytes = random_bytes(3 * kStreamPiece, 2);
  const fs::path path = write_uncached("data.bin", bytes);
  if (!takes_direct_reads(path)) GTEST_SKIP() << dir_ << " takes no O_DIRECT reads";
  const auto file = MappedFile::open(path.string());
  ASSERT_EQ(streamed(*file, 0, bytes.size()), bytes);
  // A mapped read would have brought all 6144 pages in; a few may come from readahead of the
  // header-sized checks around the stream.
  EXPECT_LT(cached_pages(path), 64u);

  {  // now in the cache: from the mapping, same bytes
    std::ifstream in(path, std::ios::binary);
    std::vector<char> all(bytes.size());
    in.read(all.data(), static_cast<std::streamsize>(all.size()));
  }
  EXPECT_EQ(streamed(*file, 0, bytes.size()), bytes);
}

TEST_F(DirectInput, AConsumerThatStopsGetsNoMorePieces) {
  const auto bytes = random_bytes(3 * kStreamPiece + 5, 3);
  const fs::path path = write_uncached("data.bin", bytes);
  const auto file = MappedFile::open(path.string());
  for (bool cached : {false, true}) {
    if (!cached) evict(path);
    int pieces = 0;
    EXPECT_FALSE(file->stream(1, bytes.size() - 1, "test range", "",
                              [&](std::span<const std::byte>) { return ++pieces < 2; }));
    EXPECT_EQ(pieces, 2) << (cached ? "cached" : "uncached");
  }
}

TEST_F(DirectInput, AConsumerOrHookThatThrowsStopsTheStreamCleanly) {
  const auto bytes = random_bytes(4 * kStreamPiece, 8);
  const fs::path path = write_uncached("data.bin", bytes);
  const auto file = MappedFile::open(path.string());
  for (bool in_hook : {false, true}) {
    evict(path);
    int pieces = 0;
    const auto count_and_throw = [&](std::span<const std::byte>) {
      if (++pieces == 2) throw std::runtime_error("consumer failed");
      return true;
    };
    const PieceConsumer consume =
        in_hook ? PieceConsumer([](std::span<const std::byte>) { return true; }) : count_and_throw;
    const PieceHook hook =
        in_hook ? PieceHook([&](std::span<const std::byte> p) { count_and_throw(p); }) : nullptr;
    EXPECT_THROW(file->stream(0, bytes.size(), "test range", "", consume, hook), std::runtime_error)
        << (in_hook ? "hook" : "consumer");
    // And the next stream of the same thread works (the reading thread was joined).
    EXPECT_EQ(streamed(*file, 0, bytes.size()), bytes);
  }
}

TEST_F(DirectInput, AFileCutShortWhileStreamedIsAnErrorNamingIt) {
  const auto bytes = random_bytes(2 * kStreamPiece, 4);
  const fs::path path = write_uncached("data.bin", bytes);
  if (!takes_direct_reads(path)) GTEST_SKIP() << dir_ << " takes no O_DIRECT reads";
  const auto file = MappedFile::open(path.string());
  fs::resize_file(path, kStreamPiece + 1000);
  evict(path);
  try {
    file->stream(0, bytes.size(), "test range", "",
                 [](std::span<const std::byte>) { return true; });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_EQ(e.file(), path.string());
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

// Each container writes two tensors, one byte of the second's data is flipped on disk, and the
// reader's stream() of it (uncached: the direct path) must fail its checksum like read() does,
// while the first still streams exactly what read() returns.
class StreamedChecksums : public DirectInput, public ::testing::WithParamInterface<Format> {};

TEST_P(StreamedChecksums, StreamEqualsReadAndChecksTheChecksum) {
  const Format format = GetParam();
  const fs::path path =
      dir_ / (format == Format::kTfBundle
                  ? "model.ckpt"
                  : "model" + std::string(format == Format::kPyTorch ? ".bin" : ".safetensors"));
  const auto first = random_bytes(3 * kStreamPiece / 2, 5);  // two pieces
  const auto second = random_bytes(256 * 1024, 6);
  {
    auto writer = create_checkpoint_writer(format, path.string(), WriterOptions{});
    writer->begin({TensorInfo{"first", DType::kF32, {first.size() / 4}, first.size()},
                   TensorInfo{"second", DType::kF32, {second.size() / 4}, second.size()}});
    writer->write(0, first);
    writer->write(1, second);
    writer->commit();
  }
  auto reader = open_checkpoint(path.string());
  ASSERT_EQ(reader->tensors().size(), 2u);
  const size_t second_index = reader->tensors()[0].name == "second" ? 0 : 1;
  const TensorEntry entry = reader->tensors()[second_index];  // a copy: the reader is reopened
  {  // flip one byte of the second tensor's data in place
    std::fstream data(entry.file, std::ios::in | std::ios::out | std::ios::binary);
    data.seekp(static_cast<std::streamoff>(entry.offset + 1000));
    const char flipped = static_cast<char>(static_cast<unsigned char>(second[1000]) ^ 0x10);
    data.write(&flipped, 1);
  }
  reader = open_checkpoint(path.string());
  std::vector<std::byte> scratch;
  const size_t first_index = 1 - second_index;
  evict(reader->tensors()[first_index].file);
  std::vector<std::byte> got;
  EXPECT_TRUE(reader->stream(
      first_index,
      [&](std::span<const std::byte> p) {
        got.insert(got.end(), p.begin(), p.end());
        return true;
      },
      scratch));
  EXPECT_EQ(got, first);
  evict(entry.file);
  const auto stream_second = [&] {
    reader->stream(
        second_index, [](std::span<const std::byte>) { return true; }, scratch);
  };
  if (format == Format::kSafetensors) {
    EXPECT_NO_THROW(stream_second());  // safetensors has no checksum
    return;
  }
  try {
    stream_second();
    FAIL() << "the flipped byte went unnoticed";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.tensor(), "second");
    const std::string what = e.what();
    EXPECT_TRUE(what.find("checksum") != std::string::npos || what.find("CRC") != std::string::npos)
        << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, StreamedChecksums,
                         ::testing::Values(Format::kSafetensors, Format::kPyTorch,
                                           Format::kTfBundle),
                         [](const auto& info) {
                           return std::string(format_name(info.param) == "tf-bundle"
                                                  ? "tf_bundle"
                                                  : format_name(info.param));
                         });

}  // namespace
}  // namespace tensorferry
