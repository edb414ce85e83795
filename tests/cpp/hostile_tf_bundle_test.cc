// Hostile TensorFlow bundles: index entries and headers whose numbers overflow, point outside the
// data or promise more than a sane bound, and index tables whose block handles lie. Each must be
// an Error(kBadInput) naming the file and a byte offset (and the tensor when one is at fault),
// raised before anything is allocated from the hostile number. tf_bundle_test.cc covers the
// ordinary damage (truncations, flips, partitioned/big-endian/unknown dtypes).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/bytes.h"
#include "core/crc.h"
#include "core/error.h"
#include "core/output.h"
#include "formats/tf_bundle/bundle.pb.h"
#include "formats/tf_bundle/table_format.h"
#include "formats/tf_bundle/table_writer.h"
#include "formats/tf_bundle/tf_bundle.h"

namespace tensorferry::tf_bundle {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

class HostileBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "hostile_tf.XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    prefix_ = (dir_ / "m").string();
    put(prefix_ + ".data-00000-of-00001", std::string(64, '\0'));
    header_.set_num_shards(1);
    good_.set_dtype(1);  // DT_FLOAT
    good_.mutable_shape()->add_dim()->set_size(2);
    good_.set_size(8);
    good_.set_crc32c(crc32c_mask(crc32c(std::vector<std::byte>(8))));
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static void put(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  void write_index(const BundleHeaderProto& header,
                   const std::vector<std::pair<std::string, std::string>>& entries) {
    std::error_code ec;
    fs::remove(prefix_ + ".index", ec);
    OutputFile out(prefix_ + ".index");
    TableWriter table(out);
    table.add("", header.SerializeAsString());
    for (const auto& [k, v] : entries) table.add(k, v);
    table.finish();
    out.close();
  }
  void write_entry(const BundleEntryProto& entry) {
    write_index(header_, {{"w", entry.SerializeAsString()}});
  }

  // Opens the bundle and reads every tensor; the result must be a clean refusal.
  Error expect_refused(const std::string& what, bool with_offset = true) {
    try {
      auto reader = open_tf_bundle(prefix_);
      std::vector<std::byte> scratch;
      for (size_t i = 0; i < reader->tensors().size(); ++i) reader->read(i, scratch);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << what << ": " << e.what();
      EXPECT_FALSE(e.file().empty()) << what << ": " << e.what();
      if (with_offset) {
        EXPECT_TRUE(e.offset().has_value()) << what << ": no offset in " << e.what();
      }
      return e;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": not an Error: " << e.what();
      return Error(ErrorKind::kIo, "");
    }
    ADD_FAILURE() << what << " was accepted";
    return Error(ErrorKind::kIo, "");
  }

  fs::path dir_;
  std::string prefix_;
  BundleHeaderProto header_;
  BundleEntryProto good_;
};

TEST_F(HostileBundle, EntriesPointingOutsideTheData) {
  struct Case {
    const char* what;
    int64_t offset, size;
  };
  for (const Case& c :
       {Case{"offset past the end", 1 << 20, 8}, Case{"offset + size overflows", kI64Max - 3, 8},
        Case{"offset i64 max", kI64Max, 8}, Case{"negative offset", -8, 8},
        Case{"negative size", 0, -8}, Case{"size i64 max", 0, kI64Max},
        Case{"size 2^40", 0, int64_t{1} << 40}}) {
    auto e = good_;
    e.set_offset(c.offset);
    e.set_size(c.size);
    write_entry(e);
    const Error err = expect_refused(c.what);
    EXPECT_EQ(err.tensor(), "w") << c.what << ": " << err.what();
  }
}

TEST_F(HostileBundle, ShapesThatOverflowOrAreHuge) {
  auto overflow = good_;
  overflow.mutable_shape()->clear_dim();
  for (int i = 0; i < 3; ++i) overflow.mutable_shape()->add_dim()->set_size(int64_t{1} << 32);
  write_entry(overflow);
  EXPECT_EQ(expect_refused("shape product overflows").tensor(), "w");

  auto huge = good_;
  huge.mutable_shape()->mutable_dim(0)->set_size(kI64Max);
  write_entry(huge);
  EXPECT_EQ(expect_refused("dimension i64 max").tensor(), "w");

  // A claimed size that matches a huge shape is still refused: the data file is 64 bytes.
  auto consistent = good_;
  consistent.mutable_shape()->mutable_dim(0)->set_size(int64_t{1} << 40);
  consistent.set_size(int64_t{4} << 40);
  write_entry(consistent);
  EXPECT_EQ(expect_refused("huge but consistent").tensor(), "w");

  auto unknown_rank = good_;
  unknown_rank.mutable_shape()->set_unknown_rank(true);
  write_entry(unknown_rank);
  expect_refused("unknown rank");
}

TEST_F(HostileBundle, ShardCountsAndIds) {
  for (int32_t n : {0, -1, std::numeric_limits<int32_t>::max()}) {
    auto h = header_;
    h.set_num_shards(n);
    write_index(h, {{"w", good_.SerializeAsString()}});
    // A count of 2^31-1 must not make the reader build two billion shard names. A missing data
    // file is a fault of no particular byte.
    expect_refused("num_shards " + std::to_string(n), /*with_offset=*/n <= 0);
  }
  for (int32_t id : {-1, 1, std::numeric_limits<int32_t>::max()}) {
    auto e = good_;
    e.set_shard_id(id);
    write_entry(e);
    EXPECT_EQ(expect_refused("shard id " + std::to_string(id)).tensor(), "w");
  }
}

TEST_F(HostileBundle, GarbageEntriesAndHeaders) {
  write_index(header_, {{"w", std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)}});
  expect_refused("unparsable entry");
  write_index(header_, {{"w", std::string("\x2a\xff\xff\xff\xff\x0f", 6)}});  // field 5 length 4G
  expect_refused("length-delimited field longer than the entry");
  std::error_code ec;
  fs::remove(prefix_ + ".index", ec);
  {
    OutputFile out(prefix_ + ".index");
    TableWriter table(out);
    table.add("w", good_.SerializeAsString());  // no header entry under ""
    table.finish();
    out.close();
  }
  expect_refused("no header", /*with_offset=*/false);  // an absence has no offset
}

TEST_F(HostileBundle, StringTensorsWithLyingLengths) {
  // DT_STRING: varint lengths, a masked CRC32C of them, then the bytes. Lengths far beyond the
  // entry's size must be refused before a buffer of that size is made.
  std::string data;
  data += "\xff\xff\xff\xff\xff\xff\xff\x7f";  // a varint of ~2^56 for the single element
  data += std::string(4, '\0');                // the lengths' checksum
  data += "abc";
  put(prefix_ + ".data-00000-of-00001", data + std::string(64, '\0'));
  auto e = good_;
  e.set_dtype(7);  // DT_STRING
  e.mutable_shape()->mutable_dim(0)->set_size(1);
  e.set_size(static_cast<int64_t>(data.size()));
  e.set_crc32c(0);
  write_entry(e);
  EXPECT_EQ(expect_refused("string length 2^56").tensor(), "w");

  auto many = e;
  many.mutable_shape()->mutable_dim(0)->set_size(int64_t{1} << 40);  // 2^40 strings in 15 bytes
  write_entry(many);
  EXPECT_EQ(expect_refused("2^40 strings").tensor(), "w");
}

TEST_F(HostileBundle, TableBlockHandlesThatLie) {
  write_entry(good_);
  std::ifstream in(prefix_ + ".index", std::ios::binary);
  std::string index((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(index.size(), kFooterSize);
  const size_t footer = index.size() - kFooterSize;
  auto with_footer_handles = [&](BlockHandle meta, BlockHandle idx) {
    std::string handles;
    encode_block_handle(handles, meta);
    encode_block_handle(handles, idx);
    handles.resize(kFooterSize - 8, '\0');
    return index.substr(0, footer) + handles + index.substr(index.size() - 8);
  };
  const uint64_t huge = uint64_t{1} << 62;
  for (const auto& [what, idx] : std::vector<std::pair<std::string, BlockHandle>>{
           {"index block past the end", {1 << 20, 16}},
           {"index block 2^62", {0, huge}},
           {"index offset 2^62", {huge, 16}},
           {"offset + size overflows", {huge, huge * 3}},
           {"empty index block", {0, 0}}}) {
    put(prefix_ + ".index", with_footer_handles({0, 0}, idx));
    const Error err = expect_refused(what);
    EXPECT_EQ(err.file(), prefix_ + ".index") << what;
  }
}

// Even with an address-space limit of 256 MiB above what the process holds now, none of the
// cases above would get near it; this runs the nastiest under such a limit to prove that the
// refusals come before the allocations, not from a failed allocation. Not built under ASan,
// which reserves terabytes of shadow memory (RLIMIT_AS cannot apply there); the regular build
// runs it.
#if defined(__SANITIZE_ADDRESS__)
#define TENSORFERRY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TENSORFERRY_ASAN 1
#endif
#endif
#ifndef TENSORFERRY_ASAN
TEST_F(HostileBundle, RefusedWithinAnAddressSpaceLimit) {
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_AS, &old), 0);
  // Current virtual size from /proc/self/statm (pages).
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  statm >> pages;
  const rlimit tight{pages * static_cast<uint64_t>(::getpagesize()) + (256u << 20), old.rlim_max};
  auto consistent = good_;
  consistent.mutable_shape()->mutable_dim(0)->set_size(int64_t{1} << 40);
  consistent.set_size(int64_t{4} << 40);
  write_entry(consistent);
  ASSERT_EQ(::setrlimit(RLIMIT_AS, &tight), 0);
  bool refused = false;
  try {
    auto reader = open_tf_bundle(prefix_);
    std::vector<std::byte> scratch;
    reader->read(0, scratch);
  } catch (const Error& e) {
    refused = e.kind() == ErrorKind::kBadInput;
  } catch (const std::bad_alloc&) {
  }
  ::setrlimit(RLIMIT_AS, &old);
  EXPECT_TRUE(refused);
}
#endif

}  // namespace
}  // namespace tensorferry::tf_bundle
